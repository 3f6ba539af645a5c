/**
 * Security bar of docs/spec.md §10 / issue 5 that needs real processes: TLS 1.2 or
 * newer only; failed logins on the sync endpoint and the phone API slow the
 * source that fails and never refuse the right token (issue 9.4); one account's agent can
 * reach nothing of another account through any protocol message; and no
 * secret (agent token, device token, trigger secret, IMAP or SMTP password)
 * ever appears in either program's log, even at debug level.
 */
import { connect as tlsConnect, type SecureVersion } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { PROTOCOL_VERSION, closeCodeOf, decodeServerFrame, encodeFrame, type ClientMessage, type ServerMessage } from '@twinbox/protocol';
import { PhoneMailbox } from '@twinbox/sync-server';
import { TwinboxSystem, makeMessage } from '@twinbox/testkit';

/** A login attempt from a chosen loopback address (127.0.0.0/8 is all ours on Linux). */
function hello(system: TwinboxSystem, token: string, from = '127.0.0.1', accountId = 'user1'): Promise<{ code: string | undefined; close: number }> {
  return new Promise((resolve) => {
    const socket = new WebSocket(system.serverUrl, { rejectUnauthorized: false, localAddress: from });
    let code: string | undefined;
    socket.on('open', () =>
      socket.send(encodeFrame({ type: 'hello', version: PROTOCOL_VERSION, accountId, token, agentId: 'x', syncEpoch: null, lastSyncNo: 0, ackedThrough: 0 })),
    );
    socket.on('message', (data: Buffer) => {
      const d = decodeServerFrame(data);
      if (d.ok && d.frame.message.type === 'error') code = d.frame.message.code;
      else if (d.ok) socket.close();
    });
    socket.on('close', (close) => resolve({ code, close }));
  });
}

/** TLS handshake with the sync port offering only these versions: the version agreed, or the error. */
function handshake(port: number, minVersion: SecureVersion, maxVersion: SecureVersion): Promise<string> {
  return new Promise((resolve) => {
    // SECLEVEL=0 lets this client offer the old versions at all; the server must still refuse them.
    const socket = tlsConnect({ host: '127.0.0.1', port, minVersion, maxVersion, rejectUnauthorized: false, ciphers: 'DEFAULT:@SECLEVEL=0' });
    socket.once('secureConnect', () => {
      resolve(socket.getProtocol() ?? 'unknown');
      socket.destroy();
    });
    socket.once('error', (err) => resolve(`refused: ${err.message}`));
  });
}

/** A scripted agent session: send any message, read the answers in order. */
class RawSession {
  private readonly inbox: ServerMessage[] = [];
  private waiting: ((m: ServerMessage) => void) | undefined;
  closed: number | undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const d = decodeServerFrame(data);
      if (!d.ok) throw new Error(`undecodable frame: ${d.error.message}`);
      if (this.waiting) this.waiting(d.frame.message);
      else this.inbox.push(d.frame.message);
    });
    socket.on('close', (code) => (this.closed = code));
  }

  static open(system: TwinboxSystem): Promise<RawSession> {
    const socket = new WebSocket(system.serverUrl, { rejectUnauthorized: false });
    return new Promise((resolve, reject) => {
      socket.once('open', () => resolve(new RawSession(socket)));
      socket.once('error', reject);
    });
  }

  send(message: ClientMessage, body?: Buffer): void {
    this.socket.send(encodeFrame(message, body));
  }

  next(timeoutMs = 5000): Promise<ServerMessage> {
    const queued = this.inbox.shift();
    if (queued) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      this.waiting = (m) => {
        clearTimeout(timer);
        this.waiting = undefined;
        resolve(m);
      };
    });
  }

  close(): void {
    this.socket.close();
  }
}

describe('security', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  it('no-lockout: after 10 failures from a source it is refused, but the right token from there still syncs (issue 9.4)', async () => {
    system = await TwinboxSystem.start({ window: 3, env: { TWINBOX_LOG: 'debug' } });
    for (let i = 0; i < 10; i++) expect((await hello(system, `tbx_wrong${i}`)).code).toBe('AUTH_FAILED');
    const limited = await hello(system, 'tbx_wrong_again');
    expect(limited).toEqual({ code: 'RATE_LIMITED', close: closeCodeOf('RATE_LIMITED') });
    expect((await hello(system, system.pairing.token)).code).toBeUndefined();
    const run = await system.runAgent();
    expect(run.code).toBe(0);

    for (let i = 0; i < 10; i++) expect((await system.api('GET', '/api/v1/status', `tbd_wrong${i}`)).status).toBe(401);
    const refused = await system.api('GET', '/api/v1/status', 'tbd_wrong_again');
    expect([refused.status, refused.json.error.code]).toEqual([429, 'RATE_LIMITED']);
    expect((await system.api('GET', '/api/v1/status', await system.addDevice())).status).toBe(200);
  });

  it('no secret appears in any log, even at debug level', async () => {
    system = await TwinboxSystem.start({ window: 3, env: { TWINBOX_LOG: 'debug' } });
    await system.desktop.deliver({ label: 'D1' });
    await hello(system, 'tbx_wrong');
    const token = await system.addDevice();
    await system.api('POST', '/api/v1/send', token, { to: 'x@example.test', text: 'hi', viaSync: true });
    await system.api('POST', '/api/v1/sync-now', token, { via: 'email' });
    const runs = [await system.runAgent([], { TWINBOX_LOG: 'debug' }), await system.runAgent([], { TWINBOX_LOG: 'debug' })];
    const logs = [system.serverLog, ...runs.map((r) => r.stderr)].join('\n');
    expect(logs.length).toBeGreaterThan(200);
    for (const secret of [system.pairing.token, system.pairing.triggerSecret, token, 'secret1']) expect(logs).not.toContain(secret);
  });

  it('the sync port speaks TLS 1.2 and 1.3 only: a TLS 1.0 or 1.1 client is refused at the handshake', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    expect(await handshake(system.port, 'TLSv1', 'TLSv1')).toMatch(/^refused: .*(protocol|version)/i);
    expect(await handshake(system.port, 'TLSv1.1', 'TLSv1.1')).toMatch(/^refused: .*(protocol|version)/i);
    expect(await handshake(system.port, 'TLSv1.2', 'TLSv1.2')).toBe('TLSv1.2');
    expect(await handshake(system.port, 'TLSv1.2', 'TLSv1.3')).toBe('TLSv1.3');
  });

  it('no-lockout: failures for an account from many sources never refuse its right token; each failing source is slowed alone', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    const user2 = await system.addAccount('user2');
    // Ten failures for user1 from each of three sources: 30 in a minute.
    for (const source of ['127.0.0.10', '127.0.0.11', '127.0.0.12']) {
      for (let i = 0; i < 10; i++) expect((await hello(system, `tbx_wrong${i}`, source)).code).toBe('AUTH_FAILED');
      expect((await hello(system, 'tbx_wrong', source)).code).toBe('RATE_LIMITED');
    }
    // The holder of the right token gets in from anywhere, the failing sources included.
    expect((await hello(system, system.pairing.token, '127.0.0.30')).code).toBeUndefined();
    expect((await hello(system, system.pairing.token, '127.0.0.10')).code).toBeUndefined();
    expect((await system.runAgent()).code).toBe(0);
    // Another account is untouched, and a fresh source's first wrong guess is an ordinary failure.
    expect((await hello(system, user2.token, '127.0.0.31', 'user2')).code).toBeUndefined();
    expect((await hello(system, 'tbx_guess', '127.0.0.41', 'user2')).code).toBe('AUTH_FAILED');
  });

  it("one account's agent reaches nothing of another's through any protocol message", async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.desktop.deliver({ label: 'D1' });
    await system.sync();
    await system.addAccount('user2');
    const theirs = new PhoneMailbox(system.store, 'user2');
    const secretIds = [await theirs.deliver({ raw: makeMessage({ label: 'SECRET1' }) }), await theirs.deliver({ raw: makeMessage({ label: 'SECRET2' }) })];
    const user2Rows = async () =>
      JSON.stringify(
        await Promise.all(
          ['messages', 'server_actions', 'applied_agent_actions', 'sync_state', 'sync_log'].map((t) => system!.store.engine.all(`SELECT * FROM ${t} WHERE account_id = 'user2' ORDER BY 1`)),
        ),
      );
    const before = await user2Rows();
    const theirSeqs = (await system.store.engine.all<{ seq: number }>("SELECT seq FROM server_actions WHERE account_id = 'user2'")).map((r) => r.seq);
    expect(theirSeqs.length).toBe(2);

    // user1's credentials, a fresh agent ID: an initial-sync session of user1.
    const s = await RawSession.open(system);
    s.send({ type: 'hello', version: PROTOCOL_VERSION, accountId: 'user1', token: system.pairing.token, agentId: 'intruder', syncEpoch: null, lastSyncNo: 0, ackedThrough: 0 });
    expect(await s.next()).toMatchObject({ type: 'welcome', mode: 'initial' });
    s.send({ type: 'beginInitial', syncEpoch: 'intruder-epoch' });
    const list = await s.next();
    expect(list.type === 'phoneList' && list.messages.map((m) => m.phoneId)).toEqual([await system.phoneId('D1')]);
    s.send({ type: 'fetchPhone', phoneIds: secretIds });
    expect([await s.next(), await s.next()]).toEqual(secretIds.map((phoneId) => ({ type: 'phoneGone', phoneId })));
    let seq = 1;
    for (const kind of ['markRead', 'markUnread', 'flag', 'unflag', 'trash', 'recover', 'unmap', 'destroy'] as const) {
      s.send({ type: 'action', seq, action: { kind, phoneId: secretIds[0]! } });
      expect(await s.next(), kind).toEqual({ type: 'ack', seq: seq++, result: 'gone' });
    }
    s.send({ type: 'order', entries: secretIds.map((phoneId) => ({ phoneId, tiebreak: 99, date: 0 })) });
    s.send({ type: 'freeSlots' });
    expect(await s.next()).toEqual({ type: 'freeSlotsResult', free: 2 });
    s.send({ type: 'complete', syncNo: 1, stats: { mode: 'initial', agentActions: 0, serverActions: 0, unmapped: 0, pulled: 0, insertedOnDesktop: 0 } });
    expect(await s.next()).toMatchObject({ type: 'completed' });
    s.close();

    // An update session of user1, mid-swap: acknowledging user2's server actions is refused.
    await system.phoneDeliver({ label: 'MINE' });
    const u = await RawSession.open(system);
    u.send({ type: 'hello', version: PROTOCOL_VERSION, accountId: 'user1', token: system.pairing.token, agentId: 'intruder', syncEpoch: 'intruder-epoch', lastSyncNo: 1, ackedThrough: 8 });
    expect(await u.next()).toMatchObject({ type: 'welcome', mode: 'update' });
    u.send({ type: 'swap' });
    const action = await u.next();
    expect(action).toMatchObject({ type: 'serverAction', action: { kind: 'insert' } });
    // The swap's end follows its last action at once, before any acknowledgement.
    expect(await u.next()).toMatchObject({ type: 'actionsEnd', count: 1 });
    u.send({ type: 'serverAck', seq: theirSeqs[0]!, result: 'ok', desktopUid: 1 });
    expect(await u.next()).toMatchObject({ type: 'error', code: 'OUT_OF_ORDER' });

    // A watch connection of user1 is told of user1's phone changes, and of nothing of user2's.
    const w = await RawSession.open(system);
    w.send({ type: 'watch', version: PROTOCOL_VERSION, accountId: 'user1', token: system.pairing.token, agentId: 'intruder' });
    expect(await w.next()).toEqual({ type: 'watching' });
    const theirDevice = await system.addDevice('user2');
    expect((await system.api('POST', `/api/v1/messages/${secretIds[1]}/read`, theirDevice)).status).toBe(200);
    await expect(w.next(1500)).rejects.toThrow(/no answer/);
    expect((await system.api('POST', `/api/v1/messages/${await system.phoneId('D1')}/flag`, await system.addDevice('user1'))).status).toBe(200);
    expect(await w.next()).toEqual({ type: 'syncRequest', reason: 'phoneChange' });
    w.close();

    expect(await system.store.engine.get("SELECT COUNT(*) AS n FROM messages WHERE account_id = 'user2' AND seen = 1")).toEqual({ n: 1 });
    expect((await system.api('POST', `/api/v1/messages/${secretIds[1]}/unread`, theirDevice)).status).toBe(200);
    // Everything of user2's as it was, except the one change user2 itself made and took back (its actions are coalesced at send time).
    const after = JSON.parse(await user2Rows()) as unknown[][];
    const was = JSON.parse(before) as unknown[][];
    expect(after[0]).toEqual(was[0]);
    expect(after.slice(2)).toEqual(was.slice(2));
  });
});
