// The applied policy kept on disk, so a restarted sandbox serves what it served.
import {readFile} from 'node:fs/promises'
import {errorMessage, GrayError} from '../../../core/errors.js'
import type {PolicyDocument} from '../../../core/policy/document.js'
import {fromDocument} from '../../../core/policy/document.js'
import type {Policy} from '../../../core/ports.js'
import {writeAtomic} from '../../../state/files.js'

/** Writes the document over `file` atomically and durably (fsync, rename, fsync of the folder). */
export async function saveState(file: string, document: PolicyDocument): Promise<void> {
  await writeAtomic(file, `${JSON.stringify(document, null, 2)}\n`, {durable: true})
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
