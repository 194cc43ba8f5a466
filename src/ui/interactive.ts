// Prompts only where a person can answer: a TTY, and never under CI or --json.
import {ConfigError} from '../core/errors.js'

export function canPrompt(json = false): boolean {
  return !json && !process.env.CI && Boolean(process.stdin.isTTY) && Boolean(process.stdout.isTTY)
}

/** Asks to confirm unless --yes; without a TTY, refuses and names --yes. */
export async function confirm(question: string, options: {yes: boolean; json: boolean; action: string}): Promise<void> {
  if (options.yes) return
  if (!canPrompt(options.json)) {
    throw new ConfigError(`${options.action} needs confirmation: pass --yes (there is no terminal to ask on here)`)
  }
  const {confirm: ask} = await import('@inquirer/prompts')
  const ok = await ask({message: question, default: false})
  if (!ok) throw new ConfigError(`${options.action} was not confirmed; nothing was changed`)
}
