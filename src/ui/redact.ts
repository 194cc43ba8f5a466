// Secrets never reach output: every value of an environment variable whose
// name looks like a secret is masked wherever it appears.
const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|PRIVATE|CREDENTIAL|AUTH|WEBHOOK)/i

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
