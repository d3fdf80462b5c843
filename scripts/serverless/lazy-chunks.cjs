'use strict';
// Gives each function's package the chunks it may load and no others. serverless-esbuild builds
// every handler into one folder (.esbuild/.build/functions), so with code splitting (esbuild.cjs)
// the chunks of all functions lie side by side, and it would zip every one of them into every
// function. Between its build and its zipping, this plugin reads each build's metafile and adds an
// exclusion pattern for every chunk the function's entry cannot reach, statically or through an
// import(); serverless-esbuild leaves out the chunk's source map with it. The metafiles it writes
// beside the bundles (<handler>-meta.json) are deleted: no function needs them.
const { existsSync, readdirSync } = require('node:fs');
const { rm } = require('node:fs/promises');
const path = require('node:path');
const { bundleFiles } = require('./bundle-files.cjs');

class LazyChunks {
  constructor(serverless) {
    const esbuild = serverless.pluginManager.plugins.find(
      (plugin) => plugin.constructor.name === 'EsbuildServerlessPlugin' && typeof plugin.pack === 'function',
    );
    if (!esbuild) throw new Error('lazy-chunks needs serverless-esbuild listed before it in plugins');
    const pack = esbuild.pack;
    esbuild.pack = async (...args) => {
      await keepReachableChunks(esbuild);
      return pack.apply(esbuild, args);
    };
  }
}

async function keepReachableChunks(esbuild) {
  const { buildDirPath, buildCache, buildResults, serviceDirPath } = esbuild;
  // The metafile names files relative to the directory esbuild ran in.
  const workingDir = esbuild.buildOptions?.absWorkingDir ?? process.cwd();
  const inBuild = (file) => path.relative(buildDirPath, path.resolve(workingDir, file));
  const builds = Object.values(buildCache).map(({ entry, result }) => {
    if (!result?.metafile) throw new Error('lazy-chunks needs metafile: true in the esbuild settings');
    const files = bundleFiles(result.metafile, path.relative(workingDir, path.resolve(serviceDirPath, entry)));
    return {
      entry,
      bundle: inBuild(files.entry),
      packaged: new Set(files.packaged.map(inBuild)),
      chunks: files.chunks,
    };
  });
  // Every build writes its chunks into the same folder: a function must leave out the others' too,
  // and any chunk an earlier build left there (`deploy function` builds one handler only).
  const chunkDirs = new Set(builds.flatMap((build) => build.chunks.map((chunk) => path.dirname(inBuild(chunk)))));
  const onDisk = [...chunkDirs].flatMap((dir) =>
    existsSync(path.join(buildDirPath, dir))
      ? readdirSync(path.join(buildDirPath, dir))
          .filter((name) => !name.endsWith('.map'))
          .map((name) => path.join(dir, name))
      : [],
  );
  const allChunks = new Set([...builds.flatMap((build) => build.chunks.map(inBuild)), ...onDisk]);
  for (const build of builds) {
    const excluded = [...allChunks].filter((chunk) => !build.packaged.has(chunk)).map((chunk) => `!${chunk}`);
    for (const { func, bundlePath } of buildResults) {
      if (bundlePath !== build.bundle) continue;
      func.package = { ...func.package, patterns: [...(func.package?.patterns ?? []), ...excluded] };
    }
    await rm(path.join(buildDirPath, `${build.entry.slice(0, build.entry.lastIndexOf('.'))}-meta.json`), {
      force: true,
    });
  }
}

module.exports = LazyChunks;
