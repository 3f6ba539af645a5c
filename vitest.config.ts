import { defineConfig } from 'vitest/config';

// Integration tests start real processes (Dovecot, the server, the agent), so
// they run one file at a time on CI's two cores and get generous timeouts.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Real Courier/Cyrus: scripts/test-servers.sh with vitest.servers.config.ts.
    exclude: ['test/servers/**', '**/node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    // Tests marked concurrent (the scenario suite) run two at a time, one per core.
    maxConcurrency: 2,
    pool: 'forks',
  },
});
