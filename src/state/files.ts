// Small file helpers shared by the state modules: private permissions, atomic replace.
import {randomBytes} from 'node:crypto'
import {constants} from 'node:fs'
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

/** open flags that never follow a symlink in the last component, and never block on a FIFO */
export const NOFOLLOW_READ = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK
export const NOFOLLOW_APPEND = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW

/**
 * Reads a file gray keeps (a journal, a request, the lock's holder): never
 * through a symlink (ELOOP), only a regular file, at most `maxBytes`. Throws
 * an errno-style error otherwise (code ELOOP, ENOTREGULAR or EFBIG).
 */
export async function readPrivateFile(path: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(path, NOFOLLOW_READ)
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), {code: 'ENOTREGULAR'})
    if (info.size > maxBytes) throw Object.assign(new Error(`${path} is larger than ${maxBytes} bytes`), {code: 'EFBIG'})
    return await handle.readFile()
  } finally {
    await handle.close()
  }
}
