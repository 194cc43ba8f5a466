// An in-process FAKE of the Apache ShenYu Admin API, for tests: ShenYu cannot
// run on this machine. Built from the Admin API's documented shapes
// (shenyu.apache.org, admin API: every answer {"code", "message", "data"}):
//   GET  /platform/login?userName=&password=  → data {token}; other calls need X-Access-Token
//   GET  /selector?pluginId=&name=&currentPage=&pageSize=  → data {page, dataList: [...]}
//   POST /selector, PUT /selector/{id}        → data: rows changed (not the id)
//   GET  /rule?selectorId=&currentPage=&pageSize=, POST /rule, PUT /rule/{id}
// a wrong token answers {"code": 401}. It also evaluates the divide plugin
// (route()): enabled selectors by sort, conditions AND (matchMode 0) or OR (1)
// over header/cookie/query/ip/uri with =, regex, startsWith, match; then an
// upstream picked by weighted random per request, as divide's "random" balance.
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'

export interface ShenyuRequest {
  headers?: Record<string, string>
  cookies?: Record<string, string>
  query?: Record<string, string>
  ip?: string
}

type Stored = Record<string, unknown> & {id: string}

export interface FakeShenyu {
  url: string
  password: string
  selectors: Map<string, Stored>
  rules: Map<string, Stored>
  route(req: ShenyuRequest, random?: () => number): {selector: string; upstream: string; gray: boolean} | null
  close(): Promise<void>
}

export async function startFakeShenyu(password = 'shenyu-secret-123'): Promise<FakeShenyu> {
  const token = 'tok-' + Math.random().toString(36).slice(2)
  let nextId = 1
  const fake: FakeShenyu = {
    url: '',
    password,
    selectors: new Map(),
    rules: new Map(),
    route(req, random = Math.random) {
      const selectors = [...fake.selectors.values()].filter((s) => s.enabled === true).sort((a, b) => Number(a.sort) - Number(b.sort))
      for (const s of selectors) {
        const conditions = s.selectorConditions as Array<{paramType: string; operator: string; paramName: string; paramValue: string}>
        const results = conditions.map((c) => matches(c, req))
        if (!(s.matchMode === 1 ? results.some(Boolean) : results.every(Boolean))) continue
        const ups = (JSON.parse(s.handle as string) as Array<{upstreamUrl: string; weight: number; status: boolean; gray: boolean}>).filter((u) => u.status && u.weight > 0)
        const total = ups.reduce((a, u) => a + u.weight, 0)
        let pick = random() * total
        for (const u of ups) {
          pick -= u.weight
          if (pick < 0) return {selector: s.name as string, upstream: u.upstreamUrl, gray: u.gray}
        }
        return null
      }
      return null
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  }
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x')
    let raw = ''
    req.on('data', (c: Buffer) => (raw += c.toString()))
    req.on('end', () => {
      const send = (code: number, message: string, data: unknown = null) => {
        res.writeHead(200, {'content-type': 'application/json'})
        res.end(JSON.stringify({code, message, data}))
      }
      if (url.pathname === '/platform/login') {
        if (url.searchParams.get('userName') === 'admin' && url.searchParams.get('password') === password) return send(200, 'login dashboard user success', {id: '1', userName: 'admin', token})
        return send(200, 'login dashboard user error', null)
      }
      if (req.headers['x-access-token'] !== token) return send(401, 'token is error')
      const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {}
      const [, kind, id] = /^\/(selector|rule)(?:\/([^/]+))?$/.exec(url.pathname) ?? []
      const store = kind === 'selector' ? fake.selectors : kind === 'rule' ? fake.rules : null
      if (!store) return send(404, 'not found')
      if (req.method === 'GET') {
        const list = [...store.values()].filter((s) =>
          kind === 'selector' ? s.pluginId === url.searchParams.get('pluginId') && (!url.searchParams.get('name') || s.name === url.searchParams.get('name')) : s.selectorId === url.searchParams.get('selectorId'),
        )
        return send(200, 'query success', {page: {currentPage: 1, pageSize: 20, totalCount: list.length}, dataList: list})
      }
      if (kind === 'selector' && body.pluginId !== '5') return send(500, 'plugin not found')
      if (kind === 'rule' && !fake.selectors.has(String(body.selectorId))) return send(500, 'selector not found')
      if (req.method === 'POST') {
        const newId = String(nextId++)
        store.set(newId, {...body, id: newId})
        return send(200, 'add success', 1)
      }
      if (req.method === 'PUT' && id && store.has(id)) {
        store.set(id, {...body, id})
        return send(200, 'update success', 1)
      }
      send(500, 'not found')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return fake
}

function matches(c: {paramType: string; operator: string; paramName: string; paramValue: string}, req: ShenyuRequest): boolean {
  const value =
    c.paramType === 'uri'
      ? '/'
      : c.paramType === 'ip'
        ? req.ip
        : c.paramType === 'header'
          ? Object.entries(req.headers ?? {}).find(([k]) => k.toLowerCase() === c.paramName.toLowerCase())?.[1]
          : (c.paramType === 'cookie' ? req.cookies : req.query)?.[c.paramName]
  if (value === undefined) return false
  switch (c.operator) {
    case '=':
      return value === c.paramValue
    case 'regex':
      return new RegExp(c.paramValue).test(value)
    case 'startsWith':
      return value.startsWith(c.paramValue)
    case 'match':
      return c.paramValue === '/**'
  }
  return false
}
