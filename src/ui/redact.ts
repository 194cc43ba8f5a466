// Secrets never reach output: every value of an environment variable whose
// name looks like a secret is masked wherever it appears.
const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE|CREDENTIAL|AUTH|WEBHOOK|DATABASE_URL|DSN)/i

export function secretValues(env: Record<string, string | undefined> = process.env): string[] {
  return Object.entries(env)
    .filter(([name, value]) => SECRET_NAME.test(name) && typeof value === 'string' && value.length >= 6)
    .map(([, value]) => value as string)
    .sort((a, b) => b.length - a.length)
}

export function redact(text: string, secrets: readonly string[] = secretValues()): string {
  let out = text
  for (const secret of secrets) out = out.split(secret).join('***')
  return out
}

let masking = false

/** Every byte gray prints passes through redact(): a secret from the environment never reaches a terminal or a log. */
export function maskSecretsInOutput(): void {
  if (masking) return
  masking = true
  const secrets = secretValues()
  if (secrets.length === 0) return
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean
    stream.write = ((chunk: unknown, ...rest: unknown[]) =>
      write(typeof chunk === 'string' ? redact(chunk, secrets) : Buffer.isBuffer(chunk) ? redact(chunk.toString('utf8'), secrets) : chunk, ...rest)) as typeof stream.write
  }
}
