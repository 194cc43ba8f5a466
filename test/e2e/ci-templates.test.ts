// templates/ci/*.yml are ready to copy: their gray commands, taken out of the
// files as written, run in order against a live sandbox and release the service.
import {execa} from 'execa'
import {chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse} from 'yaml'

import {BIN} from '../support/cli.js'
import {startLive, type Live} from '../support/live.js'

type Job = {stage?: string; when?: string; script?: string[]}

/** The `run:` lines of every GitHub Actions step that calls gray, in order: the automatic jobs', and the manual ones' (behind an environment's reviewers). */
function githubCommands(file: string): {auto: string[]; manual: string[]} {
  const doc = parse(readFileSync(file, 'utf8')) as {jobs: Record<string, {environment?: string; steps: Array<{run?: string}>}>}
  const lines = (jobs: Array<{steps: Array<{run?: string}>}>) => jobs.flatMap((job) => job.steps.flatMap((s) => (s.run ?? '').split('\n'))).filter((l) => /\bgray\b/.test(l))
  const jobs = Object.values(doc.jobs)
  return {auto: lines(jobs.filter((j) => !j.environment)), manual: lines(jobs.filter((j) => j.environment))}
}

/** GitLab jobs in stage order: the automatic ones' gray commands, and the manual ones'. */
function gitlabCommands(file: string): {auto: string[]; manual: string[]} {
  const doc = parse(readFileSync(file, 'utf8')) as Record<string, unknown> & {stages: string[]}
  const jobs = Object.entries(doc).filter(([name]) => name.startsWith('gray:')) as Array<[string, Job]>
  const byStage = (a: Job, b: Job) => doc.stages.indexOf(a.stage ?? '') - doc.stages.indexOf(b.stage ?? '')
  const lines = (list: Array<[string, Job]>) => list.sort(([, a], [, b]) => byStage(a, b)).flatMap(([, j]) => j.script ?? []).filter((l) => /\bgray\b/.test(l))
  return {auto: lines(jobs.filter(([, j]) => j.when !== 'manual')), manual: lines(jobs.filter(([, j]) => j.when === 'manual'))}
}

let live: Live
let shims: string

beforeAll(async () => {
  live = await startLive({service: 'api'})
  // `npx gray` in the templates runs this checkout's bin/run.js
  shims = path.join(live.dir, 'bin')
  mkdirSync(shims)
  writeFileSync(path.join(shims, 'npx'), `#!/bin/sh\n[ "$1" = gray ] && shift\nexec "${process.execPath}" "${BIN}" "$@"\n`)
  chmodSync(path.join(shims, 'npx'), 0o755)
}, 180_000)

afterAll(async () => live?.stop())

async function runLines(lines: string[], version: string) {
  const results = []
  for (const line of lines) {
    const r = await execa('sh', ['-c', line], {
      cwd: live.dir,
      reject: false,
      stdin: 'ignore',
      timeout: 120_000,
      env: {PATH: `${shims}:${process.env.PATH}`, CI: 'true', NO_COLOR: '1', GRAY_VERSION: version, GRAY_PREVIOUS_VERSION: 'v1'},
    })
    results.push({line, exitCode: r.exitCode, stderr: String(r.stderr)})
  }
  return results
}

describe('CI templates', () => {
  it('templates/ci/github-actions.yml: validate, plan, start --detach, status --wait and report all exit 0 and the run completes; promote is the manual job', async () => {
    const {auto: lines, manual} = githubCommands('templates/ci/github-actions.yml')
    expect(lines.map((l) => l.split(' ')[2])).toEqual(['validate', 'plan', 'start', 'status', 'report'])
    expect(lines.find((l) => / start /.test(l))).toMatch(/ --detach\b/)
    expect(lines.find((l) => / status /.test(l))).toMatch(/ --wait\b/)
    expect(manual.map((l) => l.split(' ')[2])).toEqual(['promote'])
    for (const line of manual) expect(line).toMatch(/ --yes\b/)
    // no agent serves this service here: start --detach drives in-process, as it does wherever none runs
    const results = await runLines(lines, 'v2')
    for (const r of results) expect(r.exitCode, `${r.line}\n${r.stderr}`).toBe(0)
    const result = JSON.parse(readFileSync(path.join(live.dir, 'gray-result.json'), 'utf8'))
    expect(result.run).toMatchObject({version: 'v2', previousVersion: 'v1', state: 'completed'})
    expect(readFileSync(path.join(live.dir, 'gray-report.html'), 'utf8')).toContain('<svg')
  }, 180_000)

  it('templates/ci/gitlab-ci.yml: the automatic jobs release the next version; the manual ones pass --yes', async () => {
    rmSync(path.join(live.dir, 'gray-report.html'))
    const {auto, manual} = gitlabCommands('templates/ci/gitlab-ci.yml')
    expect(auto.map((l) => l.split(' ')[2])).toEqual(['validate', 'plan', 'start', 'status', 'report'])
    expect(auto.find((l) => / start /.test(l))).toMatch(/ --detach\b/)
    expect(auto.find((l) => / status /.test(l))).toMatch(/ --wait\b/)
    expect(manual.map((l) => l.split(' ')[2])).toEqual(['promote', 'rollback'])
    for (const line of manual) expect(line).toMatch(/ --yes\b/)
    const results = await runLines(auto, 'v3')
    for (const r of results) expect(r.exitCode, `${r.line}\n${r.stderr}`).toBe(0)
    const result = JSON.parse(readFileSync(path.join(live.dir, 'gray-result.json'), 'utf8'))
    // the journal knew v2 was current: --previous-version only matters for a first run
    expect(result.run).toMatchObject({version: 'v3', state: 'completed'})
    expect(existsSync(path.join(live.dir, 'gray-report.html'))).toBe(true)
  }, 180_000)
})
