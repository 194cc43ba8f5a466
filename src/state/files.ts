// Small file helpers shared by the state modules: private permissions, atomic replace.
import {randomBytes} from 'node:crypto'
import {mkdir, rename, unlink, writeFile} from 'node:fs/promises'

/** creates a directory (and its parents) readable only by the user */
export async function ensurePrivateDir(path: string): Promise<void> {
  await mkdir(path, {recursive: true, mode: 0o700})
}

/** writes a file (0600) so readers see the old or the new content, never a mix */
export async function writeAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}-${randomBytes(3).toString('hex')}.tmp`
  try {
    await writeFile(tmp, content, {mode: 0o600})
    await rename(tmp, path)
  } catch (error) {
    await unlink(tmp).catch(() => undefined)
    throw error
  }
}
