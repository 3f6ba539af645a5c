import { defineConfig } from 'vitest/config';

// Real Courier and Cyrus servers, one at a time, through scripts/test-servers.sh (not part of npm test:
// their Debian packages remove Dovecot's IMAP server, which the suite needs).
export default defineConfig({
  test: {
    include: ['test/servers/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 60_000,
    fileParallelism: false,
    pool: 'forks',
  },
});
