/**
 * Issue 18.10, "the corporate mailbox can be flooded": "sync now" by e-mail
 * sends at most one trigger e-mail per account per interval (a minute by
 * default); requests meanwhile coalesce — they hear when the one on its way
 * was sent — and never send another. The rule is held in the database: it
 * holds across a server restart. Counted where the e-mails land: the desktop
 * INBOX, delivered by the real LMTP listener (Dovecot). No agent runs, so
 * nothing removes them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwinboxSystem } from '@twinbox/testkit';

describe('sync now by e-mail is rationed', () => {
  let system: TwinboxSystem;
  let token: string;
  /** Every message in the desktop INBOX is a trigger e-mail here. */
  const triggersAtTheDesktop = async () => (await system.desktop.list('INBOX')).length;
  const syncNow = () => system.api('POST', '/api/v1/sync-now', token, { via: 'email' });

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 3 });
    // A hundred TLS connections from one address at once: more than the gate lets wait for a login by default (32).
    await system.stopServer();
    system.editServerConfig((c) => (c.connections = { ...c.connections, maxUnauthenticatedPerSource: 200 }));
    await system.startServer();
    token = await system.addDevice();
  });
  afterAll(async () => system?.stop());

  it('a-hundred-requests-send-one-trigger: 100 at once, exactly one e-mail; the rest hear when it was sent', async () => {
    const t0 = performance.now();
    const answers = await Promise.all(Array.from({ length: 100 }, () => syncNow()));
    console.log(`100 sync-now requests by e-mail at once: answered in ${(performance.now() - t0).toFixed(0)} ms`);
    expect(answers.map((a) => a.status)).toEqual(Array(100).fill(202));
    const sent = answers.filter((a) => !a.json.coalesced);
    expect(sent.map((a) => a.json)).toEqual([{ path: 'email' }]);
    const coalesced = answers.filter((a) => a.json.coalesced).map((a) => a.json);
    expect(coalesced).toHaveLength(99);
    const sentAt = Date.parse(coalesced[0].sentAt);
    for (const c of coalesced) expect(c).toEqual({ path: 'email', coalesced: true, sentAt: coalesced[0].sentAt, nextEmailAt: new Date(sentAt + 60_000).toISOString() });
    expect(await triggersAtTheDesktop()).toBe(1);
  });

  it('held-in-the-database: after a server restart, a request within the minute still sends nothing', async () => {
    await system.stopServer();
    await system.startServer();
    const answer = await syncNow();
    expect([answer.status, answer.json.coalesced]).toEqual([202, true]);
    expect(await triggersAtTheDesktop()).toBe(1);
  });

  it('one-per-interval: once the interval has passed, the next request sends again (here 2 s, phone.syncNowEmailIntervalSeconds)', async () => {
    await system.stopServer();
    system.editServerConfig((c) => ((c as unknown as { phone: object }).phone = { syncNowEmailIntervalSeconds: 2 }));
    await system.startServer();
    await new Promise((r) => setTimeout(r, 2100));
    const [first, second] = [await syncNow(), await syncNow()];
    expect(first.json).toEqual({ path: 'email' });
    expect(second.json.coalesced).toBe(true);
    expect(await triggersAtTheDesktop()).toBe(2);
  });

  it('a-failed-trigger-frees-its-slot: an e-mail the mail server refused does not hold back the next try', async () => {
    // user2's desktop address has no mailbox at the desktop's mail server: LMTP refuses it.
    await system.addAccount('user2');
    const other = await system.addDevice('user2');
    const tries = [await system.api('POST', '/api/v1/sync-now', other, { via: 'email' }), await system.api('POST', '/api/v1/sync-now', other, { via: 'email' })];
    expect(tries.map((t) => [t.status, t.json.error?.code])).toEqual([
      [502, 'SEND_FAILED'],
      [502, 'SEND_FAILED'],
    ]);
    // Another account's trigger is counted apart from user1's.
    expect(await triggersAtTheDesktop()).toBe(2);
  });
});
