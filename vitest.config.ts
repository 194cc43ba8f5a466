import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/{unit,integration,e2e}/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // most files wait on real processes (nginx, Prometheus, the CLI): three at a time even on two cores
    maxWorkers: 3,
  },
})
