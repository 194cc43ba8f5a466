// Secrets and terminal controls never reach output: the one door lives in
// src/core/redact.ts; the UI shows peer text through shown() (as `redact`).
export {maskSecretsInOutput, secretValues, registerSecrets, escapeControls, safeOutput} from '../core/redact.js'
import {shown} from '../core/redact.js'

/** Text fit for a terminal or a page: secrets masked, control characters escaped. */
export function redact(text: string, secrets?: readonly string[]): string {
  return shown(text, secrets)
}
