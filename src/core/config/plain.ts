// Checks on plain YAML values, without the schema library: what the light
// status config (./light.ts) and the registrations' status readers use.

export type Fields = Record<string, unknown>

export const isFields = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v)
export const isText = (v: unknown): v is string => typeof v === 'string' && v.length > 0
export const isArgv = (v: unknown): v is string[] => Array.isArray(v) && v.length > 0 && v.every(isText)
export const onlyKeys = (o: Fields, keys: readonly string[]): boolean => Object.keys(o).every((k) => keys.includes(k))
export const HOST_PORT = /^[^\s:/]+:\d{1,5}$/

/** a service name: it names files (journal, lock) and gateway objects; the schema says it with its error */
export const SERVICE_NAME = /^[a-z0-9][a-z0-9_.-]{0,62}$/i

/** the journal directory when gray.yaml names none, relative to gray.yaml */
export const DEFAULT_STATE_DIR = '.gray'
