// The include file on disk: replaced whole (temp file + rename), so nginx never
// reads half of one.
import {randomBytes} from 'node:crypto'
import {open, readFile, rename, rm} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

export async function readInclude(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw error
  }
}

/** Writes `text` to `path` atomically; the temp name does not end in .conf, so an `include gray/*.conf` never sees it. */
export async function replaceInclude(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`)
  const handle = await open(temp, 'w', 0o644)
  try {
    await handle.writeFile(text, 'utf8')
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(temp, path)
  } catch (error) {
    await rm(temp, {force: true})
    throw error
  }
}

/** Puts back what was there before: the previous text, or no file at all. */
export async function restoreInclude(path: string, previous: string | null): Promise<void> {
  if (previous === null) await rm(path, {force: true})
  else await replaceInclude(path, previous)
}
