import {defineConfig} from 'vitest/config'

// The fault-injection suite (`npm run test:faults`): real processes killed at journal points.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
