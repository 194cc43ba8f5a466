#!/usr/bin/env node
// `gray status` is what on-call runs most: it starts without loading oclif or
// the config schema when it can (dist/fast/status.js); everything else, and
// any status invocation the fast path does not handle, goes through oclif.
if (process.argv[2] === 'status') {
  const {fastStatus} = await import('../dist/fast/status.js')
  if (await fastStatus(process.argv.slice(3))) process.exit()
}

const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
