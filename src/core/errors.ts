// One error type that carries an exit code and what to do next. Commands print
// `message` (and `hint`) as one line; the stack only with DEBUG=gray*.

export const ExitCode = {
  ok: 0,
  failure: 1,
  usage: 2,
  rolledBack: 3,
  paused: 4,
  locked: 5,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export class GrayError extends Error {
  readonly exitCode: ExitCodeValue
  readonly hint?: string

  constructor(message: string, options: {exitCode?: ExitCodeValue; hint?: string; cause?: unknown} = {}) {
    super(message, {cause: options.cause})
    this.name = 'GrayError'
    this.exitCode = options.exitCode ?? ExitCode.failure
    this.hint = options.hint
  }
}

/** Invalid gray.yaml or flags: nothing was changed. Exit 2. */
export class ConfigError extends GrayError {
  constructor(message: string, hint?: string) {
    super(message, {exitCode: ExitCode.usage, hint})
    this.name = 'ConfigError'
  }
}

/** Another process drives this service. Exit 5. */
export class LockedError extends GrayError {
  constructor(message: string, hint?: string) {
    super(message, {exitCode: ExitCode.locked, hint})
    this.name = 'LockedError'
  }
}

/**
 * A metric source could not be read. `permanent` errors (a query the source
 * rejects) are config problems; the others are retried by the gate loop.
 */
export class MetricError extends GrayError {
  readonly permanent: boolean
  constructor(message: string, options: {permanent?: boolean; cause?: unknown} = {}) {
    super(message, {cause: options.cause})
    this.name = 'MetricError'
    this.permanent = options.permanent ?? false
  }
}

/** A deploy command or health check failed on one host. */
export class DeployError extends GrayError {
  readonly host: string
  readonly outputTail: string[]
  constructor(message: string, host: string, outputTail: string[] = [], cause?: unknown) {
    super(message, {cause})
    this.name = 'DeployError'
    this.host = host
    this.outputTail = outputTail
  }
}

/** The gateway refused or did not confirm a policy. `permanent`: retrying cannot help (a config nginx -t rejects). */
export class GatewayError extends GrayError {
  readonly permanent: boolean
  constructor(message: string, options: {permanent?: boolean; cause?: unknown} = {}) {
    super(message, {cause: options.cause})
    this.name = 'GatewayError'
    this.permanent = options.permanent ?? false
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}
