// The include file on disk: replaced whole (temp file + rename), so nginx never
// reads half of one.
import {readFile, rm} from 'node:fs/promises'

import {writeAtomic} from '../../../state/files.js'

export async function readInclude(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}

/** Writes `text` to `path` atomically and durably; the temp name does not end in .conf, so an `include gray/*.conf` never sees it. */
export async function replaceInclude(path: string, text: string): Promise<void> {
  await writeAtomic(path, text, {mode: 0o644, durable: true})
}

/** Puts back what was there before: the previous text, or no file at all. */
export async function restoreInclude(path: string, previous: string | null): Promise<void> {
  if (previous === null) await rm(path, {force: true})
  else await replaceInclude(path, previous)
}
