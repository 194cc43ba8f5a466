// Webhook notifications (Slack-compatible `{text, blocks}`) for steps, pauses,
// rollbacks and completion. Fire and forget: the observer returns at once, each
// webhook has its own bounded queue delivered in order with a 5 s timeout, and a
// failure is one line on stderr — it never blocks, fails or journals into the run.
// The webhook URL is a secret: nothing here prints it.
import type {GrayConfig, NotifyEvent} from '../../core/config/model.js'
import {errorMessage} from '../../core/errors.js'
import type {JournalEvent} from '../../core/ports.js'
import type {RunState} from '../../core/run/state.js'
import {shown} from '../../core/redact.js'
import {sizeLimits} from '../http-limits.js'

export interface SlackMessage {
  text: string
  blocks?: Array<Record<string, unknown>>
}

export interface Notifier {
  (event: JournalEvent, state: RunState): void
  /** resolves once every queued message was delivered or given up, or after `timeoutMs` */
  flush(timeoutMs?: number): Promise<void>
}

export interface NotifierOptions {
  log?: (line: string) => void
  timeoutMs?: number
  /** messages waiting per webhook; the oldest is dropped beyond it */
  queueLimit?: number
}

/** Which notification a journal event is, if any. */
export function notifyEventOf(event: JournalEvent): NotifyEvent | null {
  switch (event.type) {
    case 'step.started':
      return 'step'
    case 'run.paused':
    case 'step.waiting':
      return 'paused'
    case 'rollback.started':
    case 'run.rolled_back':
      return 'rolled_back'
    case 'run.completed':
      return 'completed'
    default:
      return null
  }
}

export function messageFor(event: JournalEvent, state: RunState): SlackMessage {
  const d = event.data as Record<string, unknown>
  const run = `${state.service} ${state.version}`
  const step = (index: number) => (index < 0 ? 'before step 1' : `step ${index + 1}/${state.steps.length} (${state.steps[index]?.weight ?? '?'}%)`)
  let text: string
  switch (event.type) {
    case 'step.started':
      text = `▶️ ${run}: ${step(Number(d.index))} — ${String(d.weight)}% of traffic goes to gray`
      break
    case 'step.waiting':
      text = `⏸️ ${run} waits at ${step(Number(d.index))}: run \`gray promote\` to go on, or \`gray rollback\``
      break
    case 'run.paused':
      text = `⏸️ ${run} paused at ${step(state.stepIndex)}: ${String(d.reason)} — \`gray resume\` goes on, \`gray rollback\` ends it`
      break
    case 'rollback.started':
      text = `🚨 ${run} is rolling back: ${String(d.reason)}`
      break
    case 'run.rolled_back':
      text = `↩️ ${run} rolled back to ${state.previousVersion ?? 'the previous version'}: ${String(d.reason)}`
      break
    case 'run.completed':
      text = `✅ ${run} completed: every host runs it and the gateway is back to its plain policy`
      break
    default:
      text = `${run}: ${event.type}`
  }
  text = shown(text)
  return {
    text,
    blocks: [
      {type: 'section', text: {type: 'mrkdwn', text}},
      {type: 'context', elements: [{type: 'mrkdwn', text: shown(`run ${state.runId} · ${event.actor.user}@${event.actor.host} · ${event.at}`)}]},
    ],
  }
}

type Post = (url: string, message: SlackMessage, timeoutMs: number) => Promise<void>

const axiosPost: Post = async (url, message, timeoutMs) => {
  const {default: axios} = await import('axios')
  // a total deadline (the signal) and a size cap: a slow or chatty webhook never holds a notification queue
  await axios.post(url, message, {timeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs), maxRedirects: 0, ...sizeLimits(), headers: {'content-type': 'application/json'}})
}

/** An observer for the driver's observe chain: `observe: (e, s) => { progress(e, s); notifier(e, s) }`. */
export function createNotifier(config: Pick<GrayConfig, 'notify'>, options: NotifierOptions & {post?: Post} = {}): Notifier {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const timeoutMs = options.timeoutMs ?? 5_000
  const limit = options.queueLimit ?? 20
  const post = options.post ?? axiosPost
  const hooks = config.notify.map((n, i) => ({...n, name: describeHook(n.webhook, i), queue: [] as SlackMessage[], running: null as Promise<void> | null}))

  const drain = async (hook: (typeof hooks)[number]) => {
    for (let message = hook.queue.shift(); message; message = hook.queue.shift()) {
      try {
        await post(hook.webhook, message, timeoutMs)
      } catch (error) {
        log(`gray: notification to ${hook.name} failed: ${reasonOf(error, hook.webhook)}; the run goes on`)
      }
    }
    hook.running = null
  }

  const notifier = ((event: JournalEvent, state: RunState) => {
    try {
      const kind = notifyEventOf(event)
      if (!kind) return
      const targets = hooks.filter((h) => h.on.includes(kind))
      if (targets.length === 0) return
      const message = messageFor(event, state)
      for (const hook of targets) {
        if (hook.queue.length >= limit) {
          hook.queue.shift()
          log(`gray: ${hook.name} is slow: dropped its oldest waiting notification (${limit} waiting)`)
        }
        hook.queue.push(message)
        hook.running ??= drain(hook)
      }
    } catch (error) {
      log(`gray: a notification could not be built: ${errorMessage(error)}; the run goes on`)
    }
  }) as Notifier

  notifier.flush = async (flushTimeoutMs = timeoutMs * 2) => {
    const pending = hooks.flatMap((h) => (h.running ? [h.running] : []))
    if (pending.length === 0) return
    let timer: NodeJS.Timeout | undefined
    await Promise.race([Promise.all(pending), new Promise((resolve) => (timer = setTimeout(resolve, flushTimeoutMs)))])
    clearTimeout(timer)
  }
  return notifier
}

/** `notify[0] (hooks.slack.com)`: enough to find the entry, never the secret path or credentials. */
function describeHook(url: string, index: number): string {
  try {
    return `notify[${index}] (${new URL(url).hostname})`
  } catch {
    return `notify[${index}]`
  }
}

function reasonOf(error: unknown, url: string): string {
  const e = error as {response?: {status?: number}; code?: string; message?: string}
  const reason = e.response?.status
    ? `the webhook answered HTTP ${e.response.status}`
    : e.code === 'ECONNABORTED' || e.code === 'ETIMEDOUT' || e.code === 'ERR_CANCELED' || /timeout|aborted/i.test(e.message ?? '')
      ? 'no answer within the timeout'
      : (e.message ?? String(error))
  let path = ''
  try {
    path = new URL(url).pathname
  } catch {
    path = ''
  }
  let out = reason.split(url).join('***')
  if (path.length > 1) out = out.split(path).join('/***')
  return shown(out)
}

type Observer = (event: JournalEvent, state: RunState) => void

/** `observe` followed by the config's webhooks; `observe` itself when nothing is configured. */
export function withNotifications(config: Pick<GrayConfig, 'notify'>, observe?: Observer): Observer | undefined {
  if (config.notify.length === 0) return observe
  const notifier = createNotifier(config)
  return (event, state) => {
    observe?.(event, state)
    notifier(event, state)
  }
}
