// Bundles the fast `gray status` path (dist/fast/status.js and what it imports,
// npm packages included) into dist/fast/bundle/: one file to load instead of
// about sixty, which is most of a cold start's cost. Lazily imported parts (a
// gateway's reader, the postgres client) stay in chunks loaded only when used.
// bin/run.js uses the bundle when it exists and dist/fast/status.js otherwise.
import {rm} from 'node:fs/promises'
import {build} from 'esbuild'

const outdir = new URL('../dist/fast/bundle/', import.meta.url).pathname
await rm(outdir, {recursive: true, force: true})
await build({
  entryPoints: [new URL('../dist/fast/status.js', import.meta.url).pathname],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  logLevel: 'warning',
  // CommonJS packages in the bundle (yaml) require Node's built-ins
  banner: {js: "import {createRequire as __grayRequire} from 'node:module'; const require = __grayRequire(import.meta.url);"},
})
