import {defineConfig} from 'vitest/config'

// The fault-injection suite (`npm run test:faults`): real processes killed at
// journal points. Each file has its own services and gateway, and mostly
// waits on them, so files run three at a time even on two cores.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 3,
  },
})
