/**
 * Issue 11: the agent's cost follows the phone window, not the INBOX. A
 * 3,000-message INBOX and a window of 20, on each detection path (QRESYNC,
 * CONDSTORE only as on Gmail, comparison where neither is offered):
 *
 * - the initial sync tracks O(W) messages, not 3,000, and the window is right;
 * - a no-change sync has the IMAP server report O(W) messages on the
 *   comparison path and none on the other two;
 * - mail deleted out of the window is refilled from below (the floor goes down);
 * - a phone message whose desktop copy sits far below the window is found
 *   by a server-side search, not appended a second time;
 * - an agent that lost its database starts over without duplicating anything.
 *
 * Tests never assert on time: they assert counts (issue 11's bar).
 */
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IMAP_PROFILES, TwinboxSystem, makeMessage, type AccountSetup } from '@twinbox/testkit';
import { expectWindowInvariant } from '../helpers/invariant.js';

const N = 3000;
const W = 20;
/** Rows the agent may track for a window of W (window-floor.ts pruneThreshold, with room for mapped ones). */
const TRACKED_BOUND = 4 * (W + Math.min(Math.ceil(W / 4), 50) + 10) + 1000;

const paths: { name: string; setup: AccountSetup; method: string }[] = [
  { name: 'QRESYNC', setup: { profile: IMAP_PROFILES.full }, method: 'qresync' },
  { name: 'CONDSTORE only (Gmail-like)', setup: { profile: IMAP_PROFILES.gmail }, method: 'condstore' },
  { name: 'comparison (no CONDSTORE)', setup: { profile: IMAP_PROFILES.full, qresync: false }, method: 'compare' },
];

describe.each(paths)('a 3,000-message INBOX, window 20: $name', ({ setup, method }) => {
  it('window-bounded-agent: tracks O(W), no-change sync fetches O(W), refills from below, never duplicates', async () => {
    const system = await TwinboxSystem.start({ window: W, ...setup });
    try {
      // Every 10 minutes for about three weeks, the newest an hour ago.
      const newest = Date.now() - 3_600_000;
      const messages = Array.from({ length: N }, (_, i) => {
        const date = new Date(Math.floor((newest - (N - 1 - i) * 600_000) / 1000) * 1000);
        return { raw: makeMessage({ label: `M${i}`, date }), date, seen: i % 3 === 0 };
      });
      system.dovecot.writeMaildir('user1', 'INBOX', messages);

      const initial = await system.sync();
      expect(initial.mode).toBe('initial');
      expect(initial.desktopInbox).toBe(N);
      expect(initial.tracked).toBeLessThan(N / 10);
      await expectWindowInvariant(system, W);

      const quiet = await system.sync();
      expect([quiet.mode, quiet.agentActions, quiet.serverActions]).toEqual(['update', 0, 0]);
      expect(quiet.detection.method).toBe(method);
      // QRESYNC and CONDSTORE: nothing changed, nothing reported. Comparison: the flags of what is tracked, O(W).
      if (method === 'compare') expect(quiet.detection.fetched).toBeLessThanOrEqual(quiet.tracked);
      else expect(quiet.detection.fetched).toBe(0);
      expect(quiet.tracked).toBeLessThan(TRACKED_BOUND);

      // The user deletes the newest 60 on the desktop: three windows' worth, more than the margin tracked.
      for (let i = N - 60; i < N; i++) await system.desktop.destroy(`M${i}`, 'INBOX');
      const refilled = await system.sync();
      expect(refilled.tracked).toBeLessThan(N / 10);
      await expectWindowInvariant(system, W);
      expect((await system.phoneLabels())[0]).toBe(`M${N - 61}`);

      // The same message as one far below the window arrives on the phone (delivered to both addresses long ago).
      await system.phoneReceive({ label: 'M5' }, messages[5]!.raw);
      const twin = await system.sync();
      expect(twin.insertedOnDesktop).toBe(0);
      expect((await system.desktop.labels('INBOX')).filter((l) => l === 'M5')).toHaveLength(1);
      await expectWindowInvariant(system, W);

      // The agent's database is lost: it starts over and finds everything again, duplicating nothing.
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${system.agentDatabase}${suffix}`, { force: true });
      const again = await system.sync();
      expect(again.mode).toBe('initial');
      expect(again.insertedOnDesktop).toBe(0);
      expect(again.tracked).toBeLessThan(N / 10);
      const desktop = await system.desktop.labels('INBOX');
      expect(desktop).toHaveLength(N - 60);
      expect(new Set(desktop).size).toBe(N - 60);
      await expectWindowInvariant(system, W);
    } finally {
      await system.stop();
    }
  }, 300_000);
});

describe('progress of a long sync', () => {
  it('sync-progress: `twinbox-agent sync --json` reports each stage as JSON lines before the summary', async () => {
    const system = await TwinboxSystem.start({ window: 300 });
    try {
      const newest = Date.now() - 3_600_000;
      system.dovecot.writeMaildir(
        'user1',
        'INBOX',
        Array.from({ length: 1000 }, (_, i) => ({ raw: makeMessage({ label: `M${i}` }), date: new Date(Math.floor((newest - i * 60_000) / 1000) * 1000) })),
      );
      // Shown from the start here (by default after a second, so short syncs stay quiet).
      const run = await system.runAgent([], { TWINBOX_PROGRESS_AFTER_MS: '0' });
      expect(run.code).toBe(0);
      const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { event?: string; stage?: string; done?: number; total?: number | null });
      const progress = lines.filter((l) => l.event === 'progress');
      expect(new Set(progress.map((p) => p.stage))).toEqual(new Set(['listing', 'pulling']));
      expect(progress.filter((p) => p.stage === 'pulling').at(-1)).toMatchObject({ done: 300, total: 300 });
      expect(lines.at(-1)).toMatchObject({ mode: 'initial', pulled: 300 });
    } finally {
      await system.stop();
    }
  }, 120_000);
});
