/**
 * Issue 18.5–18.8: identity by the content digest everywhere, with real
 * processes (the server, the agent CLI, Dovecot, SMTP into the phone address).
 *
 * - a stranger's copy F of a real message R (same Message-ID, other content)
 *   never takes over R's mapping, whatever order the user moves them to the
 *   desktop Trash in: "delete forever" on F's phone copy expunges F, never R;
 * - the same message arriving again is one message, on both sides;
 * - a phone arrival paired with its desktop twin takes the desktop's place
 *   in the order;
 * - a message with NUL bytes reaches the desktop uncorrupted, and is still
 *   the same message on both sides after the agent starts over;
 * - databases from before identity scheme 3 are migrated: nothing lost or
 *   duplicated, and every mapping gets its digest.
 */
import { rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { TwinboxSystem, forgedCopy, makeMessage } from '@twinbox/testkit';

const REAL_ID = '<budget-2027.81@corp.example>';
const DATE = new Date('2026-11-20T09:00:00Z');

/** The real message R and a forgery F with every header a reader sees but the body (and its label). */
function realAndForged(): { real: Buffer; forged: Buffer } {
  const real = makeMessage({ label: 'R', messageId: REAL_ID, subject: 'Budget 2027', date: DATE });
  return { real, forged: forgedCopy(real, 'F', 'The budget moved: sign in at https://evil.example/ to see it.') };
}

describe('identity by content digest everywhere (issue 18)', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  for (const order of [
    ['F', 'R'],
    ['R', 'F'],
  ] as const) {
    it(`forged-copy-moved-${order.join('-then-').toLowerCase()}: both trashed on the desktop in one sync; deleting the forgery forever on the phone never expunges the real one (18.5)`, async () => {
      system = await TwinboxSystem.start({ window: 4 });
      const { real, forged } = realAndForged();
      await system.desktop.appendRaw(real, DATE);
      await system.sync();
      await system.phoneReceive({ label: 'F' }, forged);
      await system.sync();
      expect((await system.desktop.labels()).sort()).toEqual(['F', 'R']);
      expect((await system.phoneLabels()).sort()).toEqual(['F', 'R']);

      for (const label of order) await system.desktop.move(label, 'INBOX', 'Trash');
      await system.sync();
      expect((await system.phoneLabels('trash')).sort()).toEqual(['F', 'R']);

      await system.phone().destroy(await system.phoneId('F'));
      await system.sync();
      expect(await system.desktop.labels('Trash')).toEqual(['R']);
      expect(await system.desktop.source('R', 'Trash')).toEqual(real);
      expect(await system.phoneLabels('trash')).toEqual(['R']);
      // And R still follows its own copy: recovered on the phone, it is R that comes back on the desktop.
      await system.phone().recover(await system.phoneId('R'));
      await system.sync();
      expect(await system.desktop.labels()).toEqual(['R']);
      expect(await system.desktop.labels('Trash')).toEqual([]);
    });
  }

  it('same-message-again-is-one: identical bytes sent again to the phone address are the message both sides hold (18.6)', async () => {
    system = await TwinboxSystem.start({ window: 4 });
    const message = makeMessage({ label: 'M', messageId: '<again.1@corp.example>', date: DATE });
    await system.deliverToDesktop(message);
    await system.sync();
    expect(await system.phoneLabels()).toEqual(['M']);

    await system.phoneReceive({ label: 'M' }, message);
    await system.phoneReceive({ label: 'M' }, message);
    expect(await system.phoneLabels()).toEqual(['M']);
    const summary = await system.sync();
    expect(summary.insertedOnDesktop).toBe(0);
    expect(await system.desktop.labels()).toEqual(['M']);
    expect(await system.phoneLabels()).toEqual(['M']);
  });

  it('paired-message-takes-the-desktop-place: a phone arrival paired with an older desktop twin moves to the twin\'s place, and out of the window below it (18.7)', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    const old = makeMessage({ label: 'M', messageId: '<old.1@corp.example>', date: new Date('2026-10-01T09:00:00Z') });
    await system.desktop.appendRaw(old, new Date('2026-10-01T09:00:00Z'));
    for (const [i, label] of ['N1', 'N2'].entries()) await system.desktop.deliver({ label, date: new Date(Date.UTC(2026, 10, 2 + i, 9)) });
    await system.sync();
    expect(await system.phoneLabels()).toEqual(['N2', 'N1', 'M']);
    await system.desktop.deliver({ label: 'N3', date: new Date('2026-11-10T09:00:00Z') });
    await system.sync();
    expect(await system.phoneLabels()).toEqual(['N3', 'N2', 'N1']);

    // M arrives again at the phone address, today: it is the desktop's M (not stored twice), and in M's place.
    await system.phoneReceive({ label: 'M' }, old);
    expect((await system.phoneLabels())[0]).toBe('M');
    await system.sync();
    expect(await system.desktop.labels()).toEqual(['N3', 'N2', 'N1', 'M']);
    expect(await system.phoneLabels()).toEqual(['N3', 'N2', 'N1']);

    // In a window that holds it: the desktop's place, not the arrival's.
    await system.store.engine.run("UPDATE accounts SET window = 4 WHERE id = 'user1'");
    await system.phoneReceive({ label: 'M' }, old);
    await system.sync();
    expect(await system.desktop.labels()).toEqual(['N3', 'N2', 'N1', 'M']);
    expect(await system.phoneLabels()).toEqual(['N3', 'N2', 'N1', 'M']);
    const phoneM = (await system.phoneMessages()).find((m) => m.label === 'M')!;
    expect(phoneM.date).toBe(new Date('2026-10-01T09:00:00Z').getTime());
  });

  it('nul-bytes-both-ways: a message with NUL bytes reaches the desktop uncorrupted and stays one message after the agent starts over (18.8)', async () => {
    system = await TwinboxSystem.start({ window: 4 });
    await system.sync();
    const body = Buffer.from([0x68, 0x69, 0x00, 0x01, 0x00, 0xff, 0x0d, 0x0a]);
    const withNul = Buffer.concat([
      Buffer.from('From: a@example.test\r\nTo: user1@phone.invalid\r\nSubject: N\r\nX-Scenario-Label: N\r\nMessage-ID: <nul.1@example.test>\r\nDate: Fri, 20 Nov 2026 09:00:00 +0000\r\nContent-Type: application/octet-stream\r\n\r\n'),
      body,
    ]);
    await system.phoneReceive({ label: 'N' }, withNul);
    await system.sync();
    const onDesktop = await system.desktop.source('N');
    const onPhone = (await system.store.messages.raw('user1', await system.phoneId('N')))!;
    // The same bytes on both sides, with no NUL: the part went as base64, which decodes to exactly the original.
    expect(onDesktop).toEqual(onPhone);
    expect(onDesktop.includes(0)).toBe(false);
    const [, encoded] = onDesktop.toString('latin1').split('\r\n\r\n');
    expect(onDesktop.toString('latin1')).toMatch(/Content-Transfer-Encoding: base64/);
    expect(Buffer.from(encoded!, 'base64')).toEqual(body);

    // Desktop → phone: a message with NUL bytes delivered to the desktop (Dovecot serves the NUL as 0x80).
    await system.deliverToDesktop(Buffer.concat([Buffer.from('From: b@example.test\r\nSubject: D\r\nX-Scenario-Label: D\r\nMessage-ID: <nul.2@example.test>\r\n\r\nx'), Buffer.from([0]), Buffer.from('y\r\n')]));
    await system.sync();
    expect((await system.desktop.labels()).sort()).toEqual(['D', 'N']);
    expect((await system.phoneLabels()).sort()).toEqual(['D', 'N']);

    // The agent starts over: every message is paired again, none appended or inserted twice.
    rmSync(system.agentDatabase, { force: true });
    const summary = await system.sync();
    expect(summary.mode).toBe('initial');
    expect(summary.insertedOnDesktop).toBe(0);
    await system.sync();
    expect((await system.desktop.labels()).sort()).toEqual(['D', 'N']);
    expect((await system.phoneLabels()).sort()).toEqual(['D', 'N']);
  });

  it('digest-scheme-migration: databases of the release before identity scheme 3 upgrade in place; nothing is lost or duplicated, mappings get digests', async () => {
    system = await TwinboxSystem.start({ window: 4 });
    for (const label of ['D1', 'D2']) await system.desktop.deliver({ label });
    await system.sync();
    await system.phoneReceive({ label: 'P1' });
    await system.sync();
    await system.phone().trash(await system.phoneId('D1'));
    await system.sync();
    // Back to the previous release's state: server schema 8 with scheme-2 digests, agent schema 4 without mapping digests.
    await system.closeStore();
    await system.stopServer();
    const server = new Database(`${system.serverDir}/twinbox.db`);
    server.exec("UPDATE messages SET content_digest = 'c1:' || substr(content_digest, 4) WHERE content_digest LIKE 'c2:%'; DROP TABLE cluster_nodes; DROP TABLE cluster_jobs; DROP TABLE login_failures; DROP TABLE sync_leases; DROP TABLE reach_cache_chunks; DROP TABLE reach_cache; ALTER TABLE messages DROP COLUMN held_parts; DROP TABLE agent_presence; DROP TABLE push_subscriptions; DROP TABLE quarantine; DROP TABLE trigger_mails; ALTER TABLE api_requests DROP COLUMN state; ALTER TABLE api_requests DROP COLUMN request; PRAGMA user_version = 8;");
    server.close();
    const agent = new Database(system.agentDatabase);
    agent.exec('ALTER TABLE trigger_nonces DROP COLUMN removed; ALTER TABLE mapping DROP COLUMN digest; DROP TABLE quarantine; DROP TABLE imap_refusals; PRAGMA user_version = 4;');
    agent.close();
    await system.startServer();

    await system.sync();
    expect(await system.store.engine.get("SELECT COUNT(*) AS n FROM messages WHERE content_digest NOT LIKE 'c2:%'")).toEqual({ n: 0 });
    const agentAfter = new Database(system.agentDatabase, { readonly: true });
    expect(agentAfter.prepare('SELECT COUNT(*) AS n FROM mapping WHERE digest IS NULL').get()).toEqual({ n: 0 });
    expect((agentAfter.prepare('SELECT COUNT(*) AS n FROM mapping').get() as { n: number }).n).toBe(3);
    agentAfter.close();
    // A move after the upgrade follows its message; an agent that starts over pairs everything again.
    await system.desktop.move('D2', 'INBOX', 'Trash');
    await system.sync();
    expect((await system.phoneLabels('trash')).sort()).toEqual(['D1', 'D2']);
    rmSync(system.agentDatabase, { force: true });
    expect((await system.sync()).insertedOnDesktop).toBe(0);
    expect(await system.desktop.labels()).toEqual(['P1']);
    expect((await system.desktop.labels('Trash')).sort()).toEqual(['D1', 'D2']);
    expect(await system.phoneLabels()).toEqual(['P1']);
    expect((await system.phoneLabels('trash')).sort()).toEqual(['D1', 'D2']);
  });
});
