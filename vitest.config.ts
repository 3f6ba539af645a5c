import { defineConfig } from 'vitest/config';

// Integration tests start real processes (Dovecot, the server, the agent) and
// spend most of their time waiting on them, so two files run at a time on CI's
// two cores (each its own processes, ports and temp folders) with generous
// timeouts; no test asserts on wall-clock time.
export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    // Real Courier/Cyrus: scripts/test-servers.sh with vitest.servers.config.ts.
    exclude: ['test/servers/**', '**/node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // An expect.poll waits for what real processes do; a second (vitest's default) is too short on a busy machine.
    expect: { poll: { timeout: 10_000 } },
    fileParallelism: true,
    maxWorkers: 2,
    minWorkers: 1,
    // Tests marked concurrent (the scenario suite) run two at a time, one per core.
    maxConcurrency: 2,
    pool: 'forks',
    // A JSON report beside the usual one: .ci/run prints the failed tests from it last, where CI's tail shows them.
    reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
  },
});
