import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs a logger in a child process (the logger writes to its stderr) and returns its lines. */
function linesOf(env: Record<string, string>, script: string): string {
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', `import { createLogger } from '@twinbox/log';\n${script}\nconsole.error('END');`], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return child.stderr;
}

describe('@twinbox/log', () => {
  it('writes JSON lines with level, time, scope and message, at the level of TWINBOX_LOG, secrets redacted', () => {
    const stderr = linesOf(
      { TWINBOX_LOG_FORMAT: 'json', TWINBOX_LOG: 'info' },
      `const log = createLogger('server');
       log.info('device signed in', { account: 'alice', token: 'tbd_SECRET1', nested: { password: 'SECRET2', session: 'tbs_SECRET3' }, code: 'AUTH_FAILED' });
       log.debug('not shown');
       log.error('failed', { error: 'boom' });`,
    );
    const lines = String(stderr).trim().split('\n');
    expect(lines.at(-1)).toBe('END');
    const [first, second] = lines.slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(first).toMatchObject({ level: 'info', scope: 'server', msg: 'device signed in', account: 'alice', token: '[redacted]', nested: { password: '[redacted]', session: '[redacted]' }, code: 'AUTH_FAILED' });
    expect(typeof first!.time).toBe('string');
    expect(second).toMatchObject({ level: 'error', msg: 'failed', error: 'boom' });
    expect(lines).toHaveLength(3);
    expect(String(stderr)).not.toMatch(/SECRET\d/);
  });

  it('writes readable lines when asked for (a terminal gets them by default)', () => {
    const stderr = linesOf({ TWINBOX_LOG_FORMAT: 'pretty' }, `createLogger('agent').warn('IMAP server silent, reconnecting', { token: 'tbx_SECRET' });`);
    expect(stderr).toMatch(/WARN.*IMAP server silent, reconnecting/);
    expect(stderr).toContain('scope: "agent"');
    expect(stderr).not.toContain('tbx_SECRET');
  });
});
