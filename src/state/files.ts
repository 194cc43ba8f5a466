// Small file helpers shared by the state modules: private permissions, atomic replace.
import {randomBytes} from 'node:crypto'
import {link, mkdir, open, rename, unlink} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

/** creates a directory (and its parents) readable only by the user */
export async function ensurePrivateDir(path: string): Promise<void> {
  await mkdir(path, {recursive: true, mode: 0o700})
}

export interface AtomicWriteOptions {
  /** the file's permissions; 0600 unless said */
  mode?: number
  /** fsync the file before the rename and its directory after, so the new content survives a crash */
  durable?: boolean
  /** never replace: fail with EEXIST when the file is already there */
  exclusive?: boolean
}

/**
 * Writes a file so readers see the old or the new content, never a mix: a
 * temporary file beside it, renamed over it (or, when exclusive, linked in
 * place so an existing file is never replaced). The temporary name starts with a
 * dot and ends in .tmp, so globs like `*.conf` or `*.json` never match it.
 */
export async function writeAtomic(path: string, content: string, options: AtomicWriteOptions = {}): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`)
  try {
    const handle = await open(tmp, 'w', options.mode ?? 0o600)
    try {
      await handle.writeFile(content, 'utf8')
      if (options.durable) await handle.sync()
    } finally {
      await handle.close()
    }
    if (options.exclusive) {
      await link(tmp, path)
      await unlink(tmp)
    } else {
      await rename(tmp, path)
    }
  } catch (error) {
    await unlink(tmp).catch(() => undefined)
    throw error
  }
  if (options.durable) await syncDirectory(dirname(path))
}

async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // some filesystems cannot fsync a directory; the rename is still atomic
  }
}
