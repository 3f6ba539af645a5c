/**
 * The test system itself: a start that fails half-way (here, a server that
 * cannot start) stops what it had started — no Dovecot, SMTP listener or
 * temp folder is left behind to pile up over a suite.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { TwinboxSystem } from '@twinbox/testkit';

const dovecots = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('/usr/sbin/dovecot -F -c ')).length;
const systemDirs = () => readdirSync(tmpdir()).filter((d) => d.startsWith('twinbox-system-')).length;

describe('TwinboxSystem.start', () => {
  it('a failed start leaves nothing running', async () => {
    const [before, dirsBefore] = [dovecots(), systemDirs()];
    await expect(TwinboxSystem.start({ env: { NODE_OPTIONS: '--no-such-node-option' } })).rejects.toThrow(/server exited/);
    // Dovecot is stopped by SIGTERM and exits in its own time.
    await expect.poll(dovecots, { timeout: 10_000 }).toBe(before);
    expect(systemDirs()).toBe(dirsBefore);
  });
});
