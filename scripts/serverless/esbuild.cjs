'use strict';
// How each Lambda handler is bundled, said once: serverless.yml hands it to serverless-esbuild
// (`custom.esbuild`), and scripts/build.ts builds the same bundles with it outside serverless.
module.exports = {
  bundle: true,
  // Smaller files parse faster: a cold start reads the whole bundle before the handler runs.
  minify: true,
  // Names survive minification: some libraries read a class's or function's name at run time, and
  // stack traces stay readable. It costs about 5 % of a bundle.
  keepNames: true,
  // A separate index.mjs.map; Lambda never loads it unless NODE_OPTIONS asks for --enable-source-maps.
  sourcemap: true,
  format: 'esm',
  // Each dynamic import() becomes a chunk of its own, read only when that import runs: SQL Server's
  // driver, the SMTP client, the Drive and Dropbox SDKs stay out of a cold start that does not use
  // them. A function's package holds its entry file and every chunk it may load (lazy-chunks.cjs).
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  // Which output imports which, statically or lazily: what each function's package must hold, and
  // what a cold start parses (the entry and its static imports).
  metafile: true,
  // The ES module builds of the AWS SDK clients can be tree-shaken: a function carries the
  // commands it sends, not every command of the service (the CommonJS build is one file with all).
  mainFields: ['module', 'main'],
  // The AWS SDK v3 is bundled, at the versions package-lock.json pins, although nodejs24.x ships
  // one: the same bundle then behaves the same in Lambda, in the task image (which has no SDK of
  // its own) and in tests, and a runtime update cannot change a client under a deployed function.
  // Tree-shaken and minified, it is a few hundred KB of a bundle.
  // Lambda loads index.mjs as an ES module without a package.json saying "type": "module".
  outputFileExtension: '.mjs',
  platform: 'node',
  target: 'node24',
  // Bundled CommonJS dependencies still call require(); give them one.
  banner: {
    js: "import { createRequire as __stepvaultCreateRequire } from 'node:module'; const require = __stepvaultCreateRequire(import.meta.url);",
  },
};
