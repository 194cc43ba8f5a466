// The conformance suite against the `local` backend (the journal directory), each test in its own temp dir.
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll} from 'vitest'

import {conformance} from './conformance.js'

const dirs: string[] = []
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, {recursive: true, force: true})))
})

conformance('local', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gray-state-'))
  dirs.push(dir)
  return {backend: 'local', dir: join(dir, '.gray')}
})
