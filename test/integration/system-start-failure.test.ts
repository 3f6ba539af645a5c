/**
 * The test system itself: a start that fails half-way (here, a server that
 * cannot start) stops what it had started — no Dovecot, SMTP listener or
 * temp folder is left behind to pile up over a suite.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TwinboxSystem } from '@twinbox/testkit';

// Test files run side by side: this one counts only what a system started here would leave, by giving it a
// temp folder of its own (os.tmpdir() follows TMPDIR), under which Dovecot's config and the system's files go.
const outer = tmpdir();
const own = mkdtempSync(join(outer, 'twinbox-start-failure-'));
chmodSync(own, 0o755); // Dovecot reads its config as an unprivileged user, like under /tmp itself
process.env.TMPDIR = own;
afterAll(() => {
  process.env.TMPDIR = outer;
  rmSync(own, { recursive: true, force: true });
});

const dovecots = () => execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('/usr/sbin/dovecot -F -c ') && l.includes(own)).length;

describe('TwinboxSystem.start', () => {
  it('a failed start leaves nothing running', async () => {
    expect(tmpdir()).toBe(own);
    await expect(TwinboxSystem.start({ env: { NODE_OPTIONS: '--no-such-node-option' } })).rejects.toThrow(/server exited/);
    // Dovecot is stopped by SIGTERM and exits in its own time.
    await expect.poll(dovecots, { timeout: 10_000 }).toBe(0);
    // Its folder goes once it has exited; the system's own folder at once.
    await expect.poll(() => readdirSync(own), { timeout: 10_000 }).toEqual([]);
  });
});
