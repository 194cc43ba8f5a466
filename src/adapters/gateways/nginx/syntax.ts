// How values are written into nginx configuration: quoted strings and map keys.

/** A double-quoted nginx string; the parser unescapes \" and \\ only. */
export function quoted(text: string): string {
  return `"${text.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
}

/** A single-quoted nginx string. */
export function singleQuoted(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`
}

/** A map key matched as a regular expression. */
export function regexKey(pattern: string): string {
  return quoted(`~${pattern}`)
}
