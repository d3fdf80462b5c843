'use strict';
// How each Lambda handler is bundled, said once: serverless.yml hands it to serverless-esbuild
// (`custom.esbuild`), and scripts/build.ts builds the same bundles with it outside serverless.
module.exports = {
  bundle: true,
  minify: false,
  sourcemap: true,
  format: 'esm',
  // Lambda loads index.mjs as an ES module without a package.json saying "type": "module".
  outputFileExtension: '.mjs',
  platform: 'node',
  target: 'node24',
  // Bundled CommonJS dependencies still call require(); give them one.
  banner: {
    js: "import { createRequire as __stepvaultCreateRequire } from 'node:module'; const require = __stepvaultCreateRequire(import.meta.url);",
  },
};
