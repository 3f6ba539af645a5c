/**
 * The server profile matrix (issues 10 and 18): the action suite, and for
 * the Exchange-like, Gmail-like and bare profiles the whole scenario suite
 * (the full profile runs it in test/scenario-runner), against the private
 * Dovecot posing as one kind of IMAP server (imap-profiles.ts). One file per
 * profile calls `profileSuite`, so profiles run side by side.
 *
 * Besides the scenarios, each profile checks the things that break on such
 * servers: the code paths chosen, a desktop trash made the way a client
 * without MOVE makes it (COPY, \Deleted, EXPUNGE) reaching the phone Trash,
 * and removals (phone destroy, phone trash on a server without MOVE) that
 * leave a message the user only marked \Deleted where it is. A server that
 * advertises commands and refuses them (`fallbacks`) must sync all the same:
 * the plain path taken at once, remembered (the next syncs do not ask again),
 * and listed by `doctor` and `status`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario, runScenario } from '@twinbox/scenario';
import { FALLBACKS, type FallbackPath, type SyncSummary } from '@twinbox/sync-client';
import { makeTriggerHeader } from '@twinbox/protocol';
import { IMAP_PROFILES, ROOT, TwinboxSystem, makeMessage, triggerMail, type ImapProfileName } from '@twinbox/testkit';

const minutes = (n: number) => new Date(Date.UTC(2024, 4, 1, 12, 0) + n * 60_000);
const SCENARIOS = join(ROOT, 'test/scenarios');
const SEED = Number(process.env.TWINBOX_SEED ?? 20261122);

export type ExpectedPaths = Pick<SyncSummary['imap'], 'detection' | 'move' | 'expunge' | 'uidNext' | 'appendUid'> & { trash: string; sent: string };

/** A server that advertises and refuses: what it refuses, and the paths the agent takes once it has. */
export interface ExpectedFallbacks {
  refused: FallbackPath[];
  paths: Partial<Pick<SyncSummary['imap'], 'detection' | 'move' | 'expunge' | 'order' | 'messageIds'>>;
}

/** Which half of the scenarios a profile runs in `npm test` (see below): both halves are covered. */
const SAMPLE_HALF: Partial<Record<ImapProfileName, 0 | 1>> = { bare: 0, exchange: 1, gmail: 0 };

/** `scenarios`: also run the whole scenario suite against this server (the four profiles issue 10 names). */
export function profileSuite(name: ImapProfileName, expected: ExpectedPaths, options: { scenarios: boolean; label?: string; fallbacks?: ExpectedFallbacks }): void {
  const profile = IMAP_PROFILES[name];
  const label = options.label ?? name;

  describe(`${label} server: actions`, () => {
    let system: TwinboxSystem;
    let first: SyncSummary;
    beforeAll(async () => {
      system = await TwinboxSystem.start({ window: 4, profile });
      for (let i = 1; i <= 6; i++) await system.desktop.deliver({ label: `D${i}`, date: minutes(-i) });
      first = await system.sync();
    });
    afterAll(async () => system?.stop());

    it('chooses the code paths and folders for this server, and reports them', async () => {
      const { detection, move, expunge, uidNext, appendUid, folders } = first.imap;
      console.log(`${label}: ${JSON.stringify(first.imap)}`);
      expect({ detection, move, expunge, uidNext, appendUid, trash: folders.trash.path, sent: folders.sent.path }).toEqual(expected);
      expect(await system.phoneLabels()).toEqual(['D1', 'D2', 'D3', 'D4']);
      const next = await system.sync();
      // Where the server refuses the QRESYNC or CONDSTORE forms, this sync meets the refusals and ends on the plainer path.
      if (options.fallbacks?.paths.detection) expect(next.imap.detection).toBe(options.fallbacks.paths.detection);
      else expect(next.detection.method).toBe(expected.detection);
    });

    it('doctor shows this server\'s folders and code paths, and a clean verdict', async () => {
      const run = await system.agentCli(['doctor', '--config', system.agentConfig]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Trash "${expected.trash}"`);
      expect(run.stdout).toContain(`Sent "${expected.sent}"`);
      const detection = options.fallbacks?.paths.detection ?? expected.detection;
      expect(run.stdout).toContain(`changes by ${detection}; moves by ${expected.move}; removals by ${expected.expunge}`);
      if (!options.fallbacks) expect(run.stdout).toContain('fallbacks: none');
      expect(run.stdout).toMatch(/ok {3}server[\s\S]*verdict: ready to sync/);
    });

    it('desktop flags, trash (as the user\'s client does it here), recover and destroy reach the phone', async () => {
      await system.desktop.setFlag('D1', '\\Seen', true);
      await system.desktop.move('D2', 'INBOX', 'Trash');
      await system.sync();
      expect((await system.phoneMessages()).find((m) => m.label === 'D1')?.seen).toBe(true);
      expect(await system.phoneLabels('trash')).toEqual(['D2']);
      await system.desktop.move('D2', 'Trash', 'INBOX');
      await system.desktop.destroy('D3', 'INBOX');
      await system.sync();
      expect(await system.phoneLabels('trash')).toEqual([]);
      expect(await system.phoneLabels()).toEqual(['D1', 'D2', 'D4', 'D5']);
    });

    it('phone trash, recover and destroy leave a message the user only marked \\Deleted where it is', async () => {
      await system.desktop.markDeleted('D6');
      const phone = system.phone();
      await phone.trash(await system.phoneId('D4'));
      await system.sync();
      expect(await system.desktop.labels('Trash')).toEqual(['D4']);
      expect(await system.desktop.deletedLabels('Trash')).toEqual([]);
      await phone.recover(await system.phoneId('D4'));
      await phone.destroy(await system.phoneId('D5'));
      await system.sync();
      expect(await system.desktop.labels('Trash')).toEqual([]);
      expect(await system.desktop.labels()).toEqual(['D1', 'D2', 'D4', 'D6']);
      expect(await system.desktop.deletedLabels()).toEqual(['D6']);
    });

    it('mail to the phone is appended once; mail sent via the desktop is filed in this server\'s Sent folder', async () => {
      await system.phoneDeliver({ label: 'P1', date: minutes(5) });
      await system.phone().send({ raw: makeMessage({ label: 'O1', from: 'user1@phone.invalid' }), envelope: { from: 'user1@phone.invalid', to: ['friend@example.test'] }, viaSync: true });
      const summary = await system.sync();
      expect(summary.insertedOnDesktop).toBe(1);
      expect((await system.desktop.labels()).filter((l) => l === 'P1')).toEqual(['P1']);
      expect(await system.desktop.labels('Sent')).toEqual(['O1']);
      expect((await system.sync()).insertedOnDesktop).toBe(0);
      expect(await system.desktop.deletedLabels()).toEqual(['D6']);
    });

    it('a trigger e-mail starts a sync (IDLE, or polling where the server has none) and only the trigger is removed', async () => {
      const daemon = await system.startDaemon(['--schedule', 'off', '--no-push', '--no-startup-sync']);
      try {
        const before = daemon.events.length;
        await system.deliverToDesktop(triggerMail(makeTriggerHeader(system.pairing.triggerSecret, 'user1').value, 'TRIGGER'));
        await daemon.waitFor((e) => e.event === 'sync' && e.reason === 'trigger', 20_000, before);
        expect((await system.desktop.labels()).filter((l) => l === 'TRIGGER')).toEqual([]);
        expect(await system.desktop.deletedLabels()).toEqual(['D6']);
        // The watcher is held while a sync runs and tries IDLE after it: where the server refuses IDLE, that
        // refusal (remembered, for the next test's check) comes once the trigger's sync is over.
        if (options.fallbacks?.refused.includes('idle')) {
          const t0 = Date.now();
          while (!(await system.agentCli(['status', '--config', system.agentConfig])).stdout.includes(`IMAP fallback: ${FALLBACKS.idle.command} refused on `)) {
            if (Date.now() - t0 > 15_000) throw new Error(`the watcher never tried IDLE after the sync:\n${daemon.stderr}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      } finally {
        await daemon.stop();
      }
    });

    it('commands the server advertised and refused: plain paths from then on, never asked again, listed by doctor and status', async () => {
      const refused = [...(options.fallbacks?.refused ?? [])].sort();
      console.log(`${label}: refused ${JSON.stringify(system.refusedImapCommands)}`);
      const asked = system.refusedImapCommands.length;
      // Work for every path again, in new agent processes: moves, removals, the window's cover, changes found.
      await system.phone().trash(await system.phoneId('D1'));
      await system.phone().destroy(await system.phoneId('D2'));
      await system.desktop.setFlag('D4', '\\Flagged', true);
      for (let i = 7; i <= 10; i++) await system.desktop.deliver({ label: `D${i}`, date: minutes(-i) });
      const summary = await system.sync();
      const again = await system.sync();
      expect([...again.imap.refused].sort()).toEqual(refused);
      expect(again.imap).toMatchObject(options.fallbacks?.paths ?? {});
      expect(summary.detection.method).toBe(options.fallbacks?.paths.detection ?? expected.detection);
      expect(system.refusedImapCommands.length, 'a remembered refusal is not paid again').toBe(asked);
      // Both sides as the actions say: D1 in both Trashes, D2 gone, D4 flagged on the phone, D6 still only marked.
      expect(await system.desktop.labels('Trash')).toEqual(['D1']);
      expect(await system.phoneLabels('trash')).toEqual(['D1']);
      expect(await system.desktop.labels()).toEqual(['P1', 'D4', 'D6', 'D7', 'D8', 'D9', 'D10']);
      expect(await system.phoneLabels()).toEqual(['P1', 'D4', 'D7', 'D8']);
      expect((await system.phoneMessages()).find((m) => m.label === 'D4')?.flagged).toBe(true);
      expect(await system.desktop.deletedLabels()).toEqual(['D6']);

      const doctor = await system.agentCli(['doctor', '--config', system.agentConfig]);
      const status = await system.agentCli(['status', '--config', system.agentConfig]);
      if (refused.length === 0) expect(doctor.stdout).toContain('fallbacks: none');
      for (const path of refused) {
        expect(doctor.stdout).toContain(`fallback: ${FALLBACKS[path].command} refused on `);
        expect(doctor.stdout).toContain(FALLBACKS[path].instead);
        expect(status.stdout).toContain(`IMAP fallback: ${FALLBACKS[path].command} refused on `);
      }
      expect(doctor.stdout).toMatch(/verdict: ready to sync/);
    });
  });

  if (!options.scenarios) return;
  // `npm test` samples: every other scenario per profile, the halves alternating between profiles, so each
  // scenario runs against at least one of these servers (and all against the full Dovecot in the scenario
  // suite); `npm run soak` (TWINBOX_SOAK=1) runs every scenario against every profile.
  const half = SAMPLE_HALF[name] ?? 0;
  const files = readdirSync(SCENARIOS)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .filter((_, i) => process.env.TWINBOX_SOAK === '1' || i % 2 === half);
  // Two scenarios at a time, each with its own Dovecot posing as this server.
  describe.concurrent(`${label} server: scenario suite (seed ${SEED})`, () => {
    for (const file of files) {
      it(file, async ({ expect: expectHere }) => {
        const path = join(SCENARIOS, file);
        const lines: string[] = [];
        const result = await runScenario(parseScenario(path, readFileSync(path, 'utf8')), { seed: SEED, out: (line) => lines.push(line), profile });
        expectHere(result.passed, lines.join('\n')).toBe(true);
      });
    }
  });
}
