// Placeholders gray fills in config strings: {version}, {previousVersion},
// {service}, {window}, {hosts}, {host.name}, {host.address}. Unknown names are errors,
// so a typo never reaches a deploy command or a query.

export const PLACEHOLDERS = ['version', 'previousVersion', 'service', 'window', 'hosts', 'host.name', 'host.address'] as const
export type Placeholder = (typeof PLACEHOLDERS)[number]
export type TemplateVars = Partial<Record<Placeholder, string>>

const PATTERN = /\{([A-Za-z][A-Za-z0-9_.]*)\}/g

/** Names of the placeholders used in a template, in order of appearance. */
export function placeholdersIn(template: string): string[] {
  return [...template.matchAll(PATTERN)].map((m) => m[1] as string)
}

/** Placeholders in `template` that gray does not know, or that `allowed` excludes. */
export function unknownPlaceholders(template: string, allowed: readonly string[] = PLACEHOLDERS): string[] {
  return placeholdersIn(template).filter((name) => !allowed.includes(name))
}

/** Fills every placeholder; throws when one has no value (a bug or a config the validator let through). */
export function fillTemplate(template: string, vars: TemplateVars): string {
  return template.replace(PATTERN, (whole, name: string) => {
    const value = vars[name as Placeholder]
    if (value === undefined) throw new Error(`placeholder ${whole} has no value here`)
    return value
  })
}

/** Fills each argv element on its own: one element stays one argument, whatever it contains. */
export function fillArgv(argv: readonly string[], vars: TemplateVars): string[] {
  return argv.map((arg) => fillTemplate(arg, vars))
}
