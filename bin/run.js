#!/usr/bin/env node
// `gray status` is what on-call runs most: it starts without loading oclif or
// the config schema when it can (the fast path, bundled into one file by
// scripts/bundle-fast-status.mjs; dist/fast/status.js when there is no bundle);
// everything else, and any status invocation the fast path does not handle,
// goes through oclif.
if (process.argv[2] === 'status') {
  const fast = await import('../dist/fast/bundle/status.js').catch((error) => {
    if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes('/dist/fast/bundle/status.js')) return import('../dist/fast/status.js')
    throw error
  })
  if (await fast.fastStatus(process.argv.slice(3))) process.exit()
}

const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})
