// The applied policy kept on disk, so a restarted sandbox serves what it served.
import {randomBytes} from 'node:crypto'
import {open, readFile, rename, rm} from 'node:fs/promises'
import {dirname, basename, join} from 'node:path'
import {errorMessage, GrayError} from '../../../core/errors.js'
import type {PolicyDocument} from '../../../core/policy/document.js'
import {fromDocument} from '../../../core/policy/document.js'
import type {Policy} from '../../../core/ports.js'

/** Writes the document to a temporary file, fsyncs it and renames it over `file`. */
export async function saveState(file: string, document: PolicyDocument): Promise<void> {
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  const handle = await open(temporary, 'w', 0o600)
  try {
    await handle.writeFile(`${JSON.stringify(document, null, 2)}\n`)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    await rename(temporary, file)
  } catch (error) {
    await rm(temporary, {force: true})
    throw error
  }
  await syncDirectory(dirname(file))
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

/** The policy kept in `file`, or null when there is none yet. */
export async function loadState(file: string): Promise<Policy | null> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw new GrayError(`Cannot read the sandbox state file ${file}: ${errorMessage(error)}.`)
  }
  try {
    return fromDocument(JSON.parse(text))
  } catch (error) {
    throw new GrayError(`The sandbox state file ${file} does not hold a valid policy (${errorMessage(error)}); fix or remove it.`)
  }
}
