// A `debug` logger loaded only when DEBUG asks for gray's namespaces: the state
// modules `status` loads on its fast path must not pay for the library otherwise.
type Log = (format: string, ...args: unknown[]) => void

export function lazyDebug(namespace: string): Log {
  let log: Promise<Log> | undefined
  return (format, ...args) => {
    if (!/(^|,)\s*gray/.test(process.env.DEBUG ?? '')) return
    log ??= import('debug').then(({default: createDebug}) => createDebug(namespace))
    void log.then((l) => l(format, ...args), () => undefined)
  }
}
