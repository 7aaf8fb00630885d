import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Multi-node and process tests wait for conditions with their own bounds; this is the
    // outer guard that turns a hang into a failure instead of a stuck CI run.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: process.env.CI ? ['verbose'] : ['default']
  }
})
