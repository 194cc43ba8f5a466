import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, test} from 'vitest'
import {CommandMetricSource, parseOutput} from '../../../src/adapters/metrics/command/index.js'
import type {Check} from '../../../src/core/config/model.js'
import {MetricError} from '../../../src/core/errors.js'
import {judge} from '../../../src/core/gates/judge.js'
import type {MeasureRequest} from '../../../src/core/ports.js'
import {check} from '../../support/fakes.js'

let dir: string
let script: string

// The metric program: prints what its last argument asks for, and its argv/env on request.
const PROGRAM = `
const query = process.argv.at(-1)
const args = process.argv.slice(2)
switch (query.split(' ')[0]) {
  case 'errors': console.log('6'); break
  case 'total': console.log('300'); break
  case 'zero': console.log('0'); break
  case 'echo-argv': console.log(JSON.stringify({value: args.length, samples: null, args})); break
  case 'env': console.log(JSON.stringify({value: Number(process.env.GRAY_WINDOW_MS), samples: 1})); break
  case 'print': process.stdout.write(query.slice(6)); break
  case 'fail': console.error('first line'); console.error('cannot reach the metrics API'); process.exit(3)
  case 'sleep': setTimeout(() => console.log('1'), 10000); break
  default: console.log(query)
}
`

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'gray-command-metric-'))
  script = join(dir, 'metric.mjs')
  await writeFile(script, PROGRAM)
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

const source = (command: string[] = [process.execPath, '{script}'], timeoutMs = 5000) =>
  new CommandMetricSource({type: 'command', command: command.map((a) => (a === '{script}' ? script : a)), timeoutMs})

const valueCheck = (query: string, overrides: Partial<Check> = {}): Check =>
  check({name: 'custom', source: 'cmd', errors: undefined, total: undefined, query, max: 0.5, ...overrides})

function request(c: Check, overrides: Partial<MeasureRequest> = {}): MeasureRequest {
  return {check: c, cohort: 'gray', version: 'v2', service: 'checkout', hosts: [], windowMs: 90_000, at: Date.parse('2026-11-22T10:00:00Z'), ...overrides}
}

async function failure(promise: Promise<unknown>): Promise<MetricError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(MetricError)
  return error as MetricError
}

describe('output', () => {
  test.each([
    ['0.02', {value: 0.02, samples: null}],
    ['  7\n', {value: 7, samples: null}],
    ['-1e-3', {value: -0.001, samples: null}],
    ['NaN', {value: Number.NaN, samples: null}],
    ['+Inf', {value: Number.POSITIVE_INFINITY, samples: null}],
    ['-Inf', {value: Number.NEGATIVE_INFINITY, samples: null}],
    ['{"value": 0.1, "samples": 400}', {value: 0.1, samples: 400}],
    ['{"value": null, "samples": 0}', {value: null, samples: 0}],
    ['{"value": "NaN"}', {value: Number.NaN, samples: null}],
    ['', {value: null, samples: null}],
    ['null', {value: null, samples: null}],
    ['12 requests', undefined],
    ['{"count": 3}', undefined],
    ['{"value": "lots"}', undefined],
    ['0x10', undefined],
  ])('%j is read as %j', (output, expected) => {
    expect(parseOutput(output)).toEqual(expected)
  })
})

describe('CommandMetricSource', () => {
  test('a value check: the number printed; placeholders filled per argv element, the query last', async () => {
    const m = await source([process.execPath, '{script}', '--service={service}', '{version} and more', '--window={window}']).measure(request(valueCheck('echo-argv {version}')))
    expect(m.value).toBe(4)
    expect(JSON.parse(m.raw.output as string).args).toEqual(['--service=checkout', 'v2 and more', '--window=90s', 'echo-argv v2'])
    expect(m.query).toBe('echo-argv v2')
  })

  test('JSON output gives samples, and the measurement’s facts come in the environment', async () => {
    const m = await source().measure(request(valueCheck('env')))
    expect(m).toMatchObject({value: 90_000, samples: 1})
  })

  test('a ratio check runs errors and total', async () => {
    const c = check({name: 'ratio', source: 'cmd', errors: 'errors {version}', total: 'total {version}', max: 0.01, minSamples: 100})
    const m = await source().measure(request(c))
    expect(m).toMatchObject({value: 0.02, samples: 300, raw: {errors: '6', total: '300'}})
    expect(judge(c, m).verdict).toBe('fail')
  })

  test('a ratio with no requests is no data', async () => {
    const c = check({name: 'ratio', source: 'cmd', errors: 'errors', total: 'zero', minSamples: 0})
    const m = await source().measure(request(c))
    expect(m.value).toBeNull()
    expect(judge(c, m).verdict).toBe('no-data')
  })

  test.each([['print NaN'], ['print +Inf'], ['print '], ['print {"value": null}']])('%s is never a pass', async (query) => {
    const c = valueCheck(query)
    expect(judge(c, await source().measure(request(c))).verdict).toBe('no-data')
  })

  test('output that is not a number is a permanent error showing it', async () => {
    const error = await failure(source().measure(request(valueCheck('print twelve'))))
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('"twelve"')
  })

  test('a non-zero exit is retried and shows the last stderr line', async () => {
    const error = await failure(source().measure(request(valueCheck('fail'))))
    expect(error.permanent).toBe(false)
    expect(error.message).toBe(`The metric command ${process.execPath} for check custom exited with code 3: cannot reach the metrics API.`)
  })

  test('a timeout is retried', async () => {
    const error = await failure(source(undefined, 200).measure(request(valueCheck('sleep'))))
    expect(error.permanent).toBe(false)
    expect(error.message).toContain('did not finish within 200 ms')
  })

  test('an aborted signal stops the command', async () => {
    const controller = new AbortController()
    const pending = source().measure(request(valueCheck('sleep'), {signal: controller.signal}))
    setTimeout(() => controller.abort(), 100)
    const error = await failure(pending)
    expect(error.message).toContain('was cancelled')
  })

  test('a program that does not exist is permanent', async () => {
    const error = await failure(source([join(dir, 'no-such-program')]).measure(request(valueCheck('x'))))
    expect(error.permanent).toBe(true)
    expect(error.message).toContain('was not found')
  })

  test('no shell: metacharacters reach the program as they are', async () => {
    const error = await failure(source().measure(request(valueCheck('print $(echo 5); echo 6'))))
    expect(error.message).toContain('printed "$(echo 5); echo 6"')
  })
})
