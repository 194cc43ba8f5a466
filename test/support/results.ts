// Checks a command's real --json output against its checked-in JSON Schema
// (schema/results/<command>.schema.json), or the error schema when it failed.
import {readFileSync} from 'node:fs'
import path from 'node:path'
import {z} from 'zod'

const cache = new Map<string, z.ZodType>()

export function resultSchema(name: string): z.ZodType {
  let schema = cache.get(name)
  if (!schema) {
    schema = z.fromJSONSchema(JSON.parse(readFileSync(path.resolve('schema/results', `${name}.schema.json`), 'utf8')))
    cache.set(name, schema)
  }
  return schema
}

/** Problems of `stdout` as the --json result of `command` (exit code decides: 1, 2 and 5 print the error document). */
export function jsonProblems(command: string, stdout: string, exitCode: number): string[] {
  let doc: unknown
  try {
    doc = JSON.parse(stdout)
  } catch {
    return [`gray ${command} --json printed no single JSON document: ${stdout.slice(0, 200)}`]
  }
  const name = [1, 2, 5].includes(exitCode) ? 'error' : command
  const parsed = resultSchema(name).safeParse(doc)
  return parsed.success ? [] : parsed.error.issues.map((i) => `gray ${command} (${name}.schema.json) at ${i.path.join('.')}: ${i.message}`)
}
