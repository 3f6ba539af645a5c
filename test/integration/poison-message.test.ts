/**
 * Issue 18: one bad message stays one bad message (docs/quarantine.md). With
 * real processes: a desktop IMAP server that refuses one message (Dovecot's
 * quota plugin: NO [LIMIT] for mail above a size), and a server that fails to
 * store one desktop message (fault injection, TWINBOX_FAULT_STORE_SUBJECT).
 *
 * Every sync completes; the failing change is tried at the next syncs, then
 * set aside (shown by `twinbox-agent status`, `doctor` and `quarantine`, the
 * phone's status, and counted in the metrics); everything else keeps
 * syncing; the user and the operator can try it again.
 */
import { chmodSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TwinboxSystem, dovecotRefusesMailOver, makeMessage } from '@twinbox/testkit';

const METRICS_TOKEN = 'metrics-token-for-the-test';

interface QuarantineView {
  id: number;
  state: string;
  kind: string;
  attempts: number;
  error: string;
  desktopUid?: number;
  phoneId?: number;
}

async function quarantineOf(system: TwinboxSystem): Promise<QuarantineView[]> {
  const run = await system.agentCli(['quarantine', '--config', system.agentConfig, '--json']);
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as { quarantine: QuarantineView[] }).quarantine;
}

describe('one bad message never blocks an account', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  it('desktop-refuses-one-message: the IMAP server refuses one APPEND; the rest syncs, it is set aside after three tries, shown everywhere and retried on request', async () => {
    system = await TwinboxSystem.start({ window: 4, dovecot: dovecotRefusesMailOver(60_000) });
    system.editServerConfig((c) => (c.metrics = { token: METRICS_TOKEN }));
    await system.stopServer();
    await system.startServer();
    await system.sync();
    await system.phoneReceive({ label: 'P1' });
    await system.phoneReceive({ label: 'BIG', size: 100_000 });
    await system.phoneReceive({ label: 'P2' });

    // Each sync completes (exit 0) and takes everything else; the refused message is deferred, then set aside.
    for (const attempt of [1, 2, 3]) {
      await system.sync();
      const rows = await quarantineOf(system);
      expect(rows).toEqual([expect.objectContaining({ kind: 'insert', attempts: attempt, state: attempt < 3 ? 'retrying' : 'set aside', error: expect.stringMatching(/LIMIT/) })]);
    }
    expect((await system.desktop.labels()).sort()).toEqual(['P1', 'P2']);
    expect((await system.phoneLabels()).sort()).toEqual(['BIG', 'P1', 'P2']);
    // Set aside: the server's action list no longer holds it; later syncs do not try it again.
    expect(await system.store.actions.pending('user1')).toEqual([]);
    const later = await system.sync();
    expect(later.serverActions).toBe(0);
    expect((await quarantineOf(system))[0]!.attempts).toBe(3);

    // The rest keeps syncing both ways.
    await system.phone().markRead(await system.phoneId('P1'));
    await system.desktop.deliver({ label: 'D1' });
    await system.sync();
    expect((await system.desktop.list()).find((m) => m.label === 'P1')?.seen).toBe(true);
    expect(await system.phoneLabels()).toContain('D1');

    // Shown: the phone's status, `status`, `doctor`, the metrics.
    const token = await system.addDevice();
    const status = await system.api('GET', '/api/v1/status', token);
    const changes = status.json.quarantine.changes as { id: number; kind: string; subject: string; error: string }[];
    expect(changes).toEqual([expect.objectContaining({ kind: 'insert', subject: 'BIG', error: expect.stringMatching(/LIMIT/) })]);
    const agentStatus = await system.agentCli(['status', '--config', system.agentConfig]);
    expect(agentStatus.stdout).toMatch(/quarantine: 1 set aside/);
    const doctor = await system.agentCli(['doctor', '--config', system.agentConfig]);
    expect(doctor.stdout).toMatch(/set aside: insert \(3 attempts\)/);
    expect(doctor.code).toBe(0);
    const metrics = await system.api('GET', '/metrics', METRICS_TOKEN);
    expect(metrics.raw.toString()).toMatch(/twinbox_quarantined_total\{direction="phone_to_desktop"\} 1/);

    // Retried from the phone: queued again, tried once, refused again (the server still refuses it): set aside again.
    const retried = await system.api('POST', `/api/v1/quarantine/${changes[0]!.id}/retry`, token, {});
    expect(retried.status).toBe(200);
    expect((await system.store.actions.pending('user1')).map((a) => a.kind)).toEqual(['insert']);
    await system.sync();
    expect(await system.store.quarantine.list('user1')).toHaveLength(1);
    expect(await system.store.actions.pending('user1')).toEqual([]);
    expect((await system.api('POST', '/api/v1/quarantine/999/retry', token, {})).status).toBe(404);
  });

  it('server-fails-one-desktop-message: the server cannot store one desktop message; the window fills with the rest, and a retry after the fault is gone brings it', async () => {
    system = await TwinboxSystem.start({ window: 3, env: { TWINBOX_FAULT_STORE_SUBJECT: 'POISON' } });
    for (const [i, label] of ['D1', 'POISON', 'D2'].entries()) await system.desktop.deliver({ label, date: new Date(Date.UTC(2026, 10, 1 + i, 9)) });
    await system.sync();
    expect(await system.phoneLabels()).toEqual(['D2', 'D1']);
    await system.sync();
    await system.sync();
    const rows = await quarantineOf(system);
    expect(rows).toEqual([expect.objectContaining({ kind: 'insert', state: 'set aside', attempts: 3, error: expect.stringMatching(/injected fault/) })]);
    // Set aside: the next message takes its slot in the window, and syncs are quiet again.
    await system.desktop.deliver({ label: 'D0', date: new Date(Date.UTC(2026, 9, 1, 9)) });
    const summary = await system.sync();
    expect(summary.quarantined).toBe(1);
    expect(await system.phoneLabels()).toEqual(['D2', 'D1', 'D0']);
    const token = await system.addDevice();
    expect((await system.api('GET', '/api/v1/status', token)).json.quarantine.desktopMessagesHeld).toBe(1);

    // The operator fixes the server; the user retries: it comes to the phone, in its place.
    await system.stopServer();
    await system.startServer({ TWINBOX_FAULT_STORE_SUBJECT: '' });
    const retry = await system.agentCli(['quarantine', '--config', system.agentConfig, '--retry', String(rows[0]!.id)]);
    expect(retry.code, retry.stderr).toBe(0);
    await system.sync();
    expect(await system.phoneLabels()).toEqual(['D2', 'POISON', 'D1']);
    expect(await quarantineOf(system)).toEqual([]);
    expect((await system.agentCli(['quarantine', '--config', system.agentConfig, '--retry', '77'])).code).toBe(1);
  });

  it('desktop-message-drops-the-connection: a damaged message the IMAP server ends the session over is read alone, then set aside; the account syncs again', async () => {
    system = await TwinboxSystem.start({ window: 2 });
    for (const [i, label] of ['BAD', 'D1', 'D2'].entries()) await system.desktop.deliver({ label, date: new Date(Date.UTC(2026, 10, 1 + i, 9)) });
    await system.sync();
    expect(await system.phoneLabels()).toEqual(['D2', 'D1']);
    // D2 leaves the window: BAD is next in line.
    await system.desktop.move('D2', 'INBOX', 'Trash');
    // BAD's file becomes unreadable to Dovecot (as a damaged disk would leave it): reading it ends the IMAP session.
    const maildir = join(system.dovecot.dir, 'home', 'user1', 'Maildir');
    const file = ['cur', 'new'].flatMap((sub) => readdirSync(join(maildir, sub)).map((f) => join(maildir, sub, f))).find((f) => readFileSync(f, 'latin1').includes('X-Scenario-Label: BAD'))!;
    chmodSync(file, 0);
    const outcomes: (number | null)[] = [];
    for (let i = 0; i < 6 && outcomes.at(-1) !== 0; i++) outcomes.push((await system.runAgent()).code);
    // The syncs that read it fail (retryable), then it is set aside and the next sync completes.
    expect(outcomes.slice(0, -1).every((code) => code === 75)).toBe(true);
    expect(outcomes.at(-1)).toBe(0);
    expect(outcomes.length).toBeLessThanOrEqual(5);
    expect(await quarantineOf(system)).toEqual([expect.objectContaining({ kind: 'insert', state: 'set aside', error: expect.stringMatching(/drops the connection/) })]);
    expect(await system.phoneLabels()).toEqual(['D1']);
    expect(await system.phoneLabels('trash')).toEqual(['D2']);
    await system.deliverToDesktop(makeMessage({ label: 'D3' }));
    expect((await system.runAgent()).code).toBe(0);
    expect(await system.phoneLabels()).toEqual(['D3', 'D1']);
  });
});
