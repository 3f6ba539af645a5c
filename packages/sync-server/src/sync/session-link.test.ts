/**
 * One connection, many syncs (issue 11): a watch connection takes a sync's
 * hello, and after `completed` it is a watch connection again; a quiet hello
 * completes at once when neither side has anything; a sync request that
 * comes during a sync reaches the agent when the sync is done; the account
 * is free for another connection between syncs.
 */
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type ClientMessage, type ServerMessage, type TwinboxError } from '@twinbox/protocol';
import { PhoneMailbox } from '../phone/phone-mailbox.js';
import { ServerStore } from '../store/index.js';
import { AccountLocks } from './account-locks.js';
import { ServerSession } from './session.js';

const silent = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
const stats = { mode: 'update' as const, agentActions: 0, serverActions: 0, unmapped: 0, pulled: 0, insertedOnDesktop: 0 };

async function world() {
  const store = await ServerStore.open(':memory:');
  const account = await store.accounts.add({ id: 'a', desktopAddress: 'a@x', window: 3 });
  const sent: ServerMessage[] = [];
  const failures: TwinboxError[] = [];
  const locks = new AccountLocks();
  const peer = { send: (m: ServerMessage) => sent.push(m), fail: (e: TwinboxError) => failures.push(e), congested: () => false, whenDrained: (go: () => void) => go() };
  const session = new ServerSession(store, locks, peer, silent);
  const send = (message: ClientMessage) => session.handle({ message, body: undefined });
  const credentials = { version: PROTOCOL_VERSION, accountId: 'a', token: account.token, agentId: 'agent-1' };
  const hello = async (extra: Partial<Extract<ClientMessage, { type: 'hello' }>> = {}) =>
    send({ type: 'hello', ...credentials, syncEpoch: 'epoch-1', lastSyncNo: (await store.syncStates.get('a')).lastSyncNo, ackedThrough: 0, ...extra });
  return { store, sent, failures, locks, session, send, credentials, hello };
}

/** An initial sync over the session, so that update syncs follow. */
async function pair(w: Awaited<ReturnType<typeof world>>): Promise<void> {
  await w.send({ type: 'watch', ...w.credentials });
  await w.send({ type: 'hello', ...w.credentials, syncEpoch: null, lastSyncNo: 0, ackedThrough: 0 });
  await w.send({ type: 'beginInitial', syncEpoch: 'epoch-1' });
  await w.send({ type: 'swap' });
  await w.send({ type: 'complete', syncNo: 1, stats: { ...stats, mode: 'initial' } });
}

describe('a connection that outlives its syncs', () => {
  it('runs sync after sync on one watch connection, the account free between them', async () => {
    const w = await world();
    await pair(w);
    expect(w.failures).toEqual([]);
    expect(w.sent.map((m) => m.type)).toEqual(['watching', 'welcome', 'phoneList', 'actionsEnd', 'completed']);
    expect(w.session.watching).toBe(true);
    // Between syncs another connection may take the account.
    const other = await w.locks.tryLock('a');
    expect(other).toBeDefined();
    w.locks.unlock('a', other!);

    w.sent.length = 0;
    await w.hello();
    await w.send({ type: 'swap' });
    await w.send({ type: 'freeSlots' });
    await w.send({ type: 'complete', syncNo: 2, stats });
    expect(w.failures).toEqual([]);
    expect(w.sent.map((m) => m.type)).toEqual(['welcome', 'actionsEnd', 'freeSlotsResult', 'completed']);
    expect((await w.store.syncStates.get('a')).lastSyncNo).toBe(2);
  });

  it('ends the swap right after its last phone change, and takes the next request only once all are acknowledged', async () => {
    const swapped = async () => {
      const w = await world();
      await pair(w);
      for (const n of [1, 2]) await new PhoneMailbox(w.store, 'a').deliver({ raw: Buffer.from(`Subject: new ${n}\r\nMessage-ID: <n${n}@x>\r\n\r\nbody\r\n`) });
      w.sent.length = 0;
      await w.hello();
      await w.send({ type: 'swap' });
      // actionsEnd does not wait for the acknowledgements: a round trip less for every sync with phone changes.
      expect(w.sent.map((m) => m.type)).toEqual(['welcome', 'serverAction', 'serverAction', 'actionsEnd']);
      const seqs = w.sent.flatMap((m) => (m.type === 'serverAction' ? [m.seq] : []));
      return { w, seqs };
    };

    const { w, seqs } = await swapped();
    for (const [i, seq] of seqs.entries()) await w.send({ type: 'serverAck', seq, result: 'ok', desktopUid: 10 + i });
    await w.send({ type: 'freeSlots' });
    await w.send({ type: 'complete', syncNo: 2, stats });
    expect(w.failures).toEqual([]);
    expect(w.sent.map((m) => m.type).slice(4)).toEqual(['freeSlotsResult', 'completed']);
    expect(await w.store.actions.pending('a')).toEqual([]);

    // The next request before the last acknowledgement is out of order, and that acknowledgement's action stays listed.
    const early = await swapped();
    await early.w.send({ type: 'serverAck', seq: early.seqs[0]!, result: 'ok', desktopUid: 10 });
    await early.w.send({ type: 'freeSlots' });
    expect(early.w.failures.map((e) => e.code)).toEqual(['OUT_OF_ORDER']);
    expect((await early.w.store.actions.pending('a')).map((a) => a.seq)).toEqual([early.seqs[1]]);
  });

  it('starts the swap with the welcome when the hello says the agent has nothing to push, and refuses a swap or an action after it', async () => {
    const w = await world();
    await pair(w);
    for (const n of [1, 2]) await new PhoneMailbox(w.store, 'a').deliver({ raw: Buffer.from(`Subject: new ${n}\r\nMessage-ID: <n${n}@x>\r\n\r\nbody\r\n`) });
    w.sent.length = 0;
    await w.hello({ swap: true });
    expect(w.sent.map((m) => m.type)).toEqual(['welcome', 'serverAction', 'serverAction', 'actionsEnd']);
    expect(w.sent[0]).toMatchObject({ type: 'welcome', mode: 'update', swapping: true });
    for (const [i, m] of w.sent.slice(1, 3).entries()) if (m.type === 'serverAction') await w.send({ type: 'serverAck', seq: m.seq, result: 'ok', desktopUid: 10 + i });
    await w.send({ type: 'complete', syncNo: 2, stats });
    expect(w.failures).toEqual([]);
    expect(w.sent.at(-1)).toMatchObject({ type: 'completed', syncNo: 2 });
    expect(await w.store.actions.pending('a')).toEqual([]);

    // Quiet and nothing for the agent: the quiet answer wins; an initial sync ignores the request (the lists come first).
    w.sent.length = 0;
    await w.hello({ swap: true, quiet: { window: 3, unreadFirst: false } });
    expect(w.sent).toEqual([expect.objectContaining({ type: 'welcome', completed: 3 })]);
    const fresh = await world();
    await fresh.send({ type: 'hello', ...fresh.credentials, syncEpoch: null, lastSyncNo: 0, ackedThrough: 0, swap: true });
    expect(fresh.sent).toEqual([expect.objectContaining({ type: 'welcome', mode: 'initial' })]);
    expect(fresh.sent[0]).not.toHaveProperty('swapping');

    // The swap has begun: a swap request, or an agent action, is out of order.
    for (const late of [{ type: 'swap' }, { type: 'action', seq: 1, action: { kind: 'markRead', phoneId: 1 } }] as ClientMessage[]) {
      const v = await world();
      await pair(v);
      await new PhoneMailbox(v.store, 'a').deliver({ raw: Buffer.from('Subject: new\r\nMessage-ID: <n@x>\r\n\r\nbody\r\n') });
      await v.hello({ swap: true });
      await v.send(late);
      expect(v.failures.map((e) => e.code)).toEqual(['OUT_OF_ORDER']);
    }
  });

  it('completes a quiet hello at once, in one answer, when the server has nothing for the agent', async () => {
    const w = await world();
    await pair(w);
    w.sent.length = 0;
    await w.hello({ quiet: { window: 3, unreadFirst: false } });
    expect(w.sent).toEqual([expect.objectContaining({ type: 'welcome', mode: 'update', completed: 2 })]);
    expect((await w.store.syncStates.get('a')).lastSyncNo).toBe(2);
    expect(w.session.watching).toBe(true);
  });

  it('runs the whole sync for a quiet hello when the phone changed, or the window options did', async () => {
    const w = await world();
    await pair(w);
    await new PhoneMailbox(w.store, 'a').deliver({ raw: Buffer.from('Subject: new\r\nMessage-ID: <n@x>\r\n\r\nbody\r\n') });
    w.sent.length = 0;
    await w.hello({ quiet: { window: 3, unreadFirst: false } });
    expect(w.sent).toEqual([expect.objectContaining({ type: 'welcome', mode: 'update' })]);
    expect(w.sent[0]).not.toHaveProperty('completed');
    expect(w.session.watching).toBe(false);

    const v = await world();
    await pair(v);
    v.sent.length = 0;
    await v.hello({ quiet: { window: 50, unreadFirst: false } });
    expect(v.sent[0]).not.toHaveProperty('completed');
  });

  it('holds a sync request that comes during a sync until the sync is done', async () => {
    const w = await world();
    await pair(w);
    await w.hello();
    w.sent.length = 0;
    expect(w.session.requestSync('a', 'phoneChange')).toBe(true);
    expect(w.sent).toEqual([]);
    await w.send({ type: 'swap' });
    await w.send({ type: 'complete', syncNo: 2, stats });
    expect(w.sent.map((m) => m.type)).toEqual(['actionsEnd', 'completed', 'syncRequest']);
  });

  it('a one-off sync connection hears no requests, and serves one account only', async () => {
    const w = await world();
    await w.send({ type: 'hello', ...w.credentials, syncEpoch: null, lastSyncNo: 0, ackedThrough: 0 });
    expect(w.session.requestSync('a', 'syncNow')).toBe(false);
    const other = await w.store.accounts.add({ id: 'b', desktopAddress: 'b@x', window: 3 });
    await w.send({ type: 'beginInitial', syncEpoch: 'epoch-1' });
    await w.send({ type: 'swap' });
    await w.send({ type: 'complete', syncNo: 1, stats: { ...stats, mode: 'initial' } });
    await w.send({ type: 'hello', ...w.credentials, accountId: 'b', token: other.token, syncEpoch: null, lastSyncNo: 0, ackedThrough: 0 });
    expect(w.failures.map((e) => e.code)).toEqual(['OUT_OF_ORDER']);
  });
});
