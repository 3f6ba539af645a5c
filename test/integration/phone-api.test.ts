/**
 * The phone's HTTP API on the server's HTTPS port, against the real server
 * process: every operation, its effect on the store and the action list, the
 * JSON errors with their stable codes, and account isolation on every route.
 */
import MailComposer from 'nodemailer/lib/mail-composer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwinboxSystem, makeMessage } from '@twinbox/testkit';

describe('phone API', () => {
  let system: TwinboxSystem;
  let token: string;
  let other: string;
  let ids: Record<string, number>;

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 5 });
    for (const label of ['D1', 'D2', 'D3']) await system.desktop.deliver({ label, date: new Date(Date.UTC(2024, 1, 1, 10, Number(label[1]))) });
    const withAttachment = await new MailComposer({
      from: 'a@example.test',
      to: 'user1@phone.invalid',
      subject: 'A1 with a file',
      text: 'plain body',
      html: '<p>html body</p>',
      headers: { 'X-Scenario-Label': 'A1' },
      attachments: [{ filename: 'report.pdf', content: Buffer.from('%PDF-1.4 bytes'), contentType: 'application/pdf' }],
    })
      .compile()
      .build();
    await system.phoneReceive({ label: 'A1' }, withAttachment);
    await system.sync();
    token = await system.addDevice('user1');
    await system.addAccount('user2');
    other = await system.addDevice('user2');
    system.phone();
    const { PhoneMailbox } = await import('@twinbox/sync-server');
    await new PhoneMailbox(system.store, 'user2').deliver({ raw: makeMessage({ label: 'SECRET' }) });
    ids = {};
    for (const l of ['D1', 'D2', 'D3', 'A1']) ids[l] = await system.phoneId(l);
  });
  afterAll(async () => system?.stop());

  it('lists the window in the desktop order, and the other folders', async () => {
    const inbox = await system.api('GET', '/api/v1/folders/inbox', token);
    expect(inbox.status).toBe(200);
    expect(inbox.json.messages.map((m: any) => m.subject)).toEqual(['A1 with a file', 'D3', 'D2', 'D1']);
    for (const folder of ['trash', 'sent', 'outbox']) expect((await system.api('GET', `/api/v1/folders/${folder}`, token)).json.messages).toEqual([]);
  });

  it('gets a message parsed: headers, text and HTML bodies, attachment list, attachment bytes', async () => {
    const m = await system.api('GET', `/api/v1/messages/${ids.A1}`, token);
    expect(m.status).toBe(200);
    expect(m.json).toMatchObject({ subject: 'A1 with a file', from: 'a@example.test', text: 'plain body', html: '<p>html body</p>', attachments: [{ index: 0, filename: 'report.pdf', contentType: 'application/pdf' }] });
    const file = await system.api('GET', `/api/v1/messages/${ids.A1}/attachments/0`, token);
    expect(file.status).toBe(200);
    expect(file.headers['content-type']).toBe('application/pdf');
    expect(file.raw.toString()).toBe('%PDF-1.4 bytes');
  });

  it('read, unread, flag, unflag, trash, recover, destroy: each changes the store, queues an action, and reaches the desktop', async () => {
    const post = (id: number, op: string) => system.api('POST', `/api/v1/messages/${id}/${op}`, token);
    expect((await post(ids.D1!, 'read')).json).toMatchObject({ seen: true });
    expect((await post(ids.D2!, 'flag')).json).toMatchObject({ flagged: true });
    expect((await post(ids.D3!, 'trash')).json).toMatchObject({ folder: 'trash' });
    expect((await system.store.actions.pending('user1')).map((a) => a.kind)).toEqual(['markRead', 'flag', 'trash']);
    await system.sync();
    const desktop = await system.desktop.list('INBOX');
    expect(desktop.find((m) => m.label === 'D1')?.seen).toBe(true);
    expect(desktop.find((m) => m.label === 'D2')?.flagged).toBe(true);
    expect(await system.desktop.labels('Trash')).toEqual(['D3']);

    expect((await post(ids.D1!, 'unread')).json).toMatchObject({ seen: false });
    expect((await post(ids.D2!, 'unflag')).json).toMatchObject({ flagged: false });
    expect((await post(ids.D3!, 'recover')).json).toMatchObject({ folder: 'inbox' });
    expect((await post(ids.A1!, 'destroy')).json).toEqual({ id: ids.A1, destroyed: true });
    await system.sync();
    expect(await system.desktop.labels('INBOX')).toEqual(['D3', 'D2', 'D1']);
    expect(await system.desktop.labels('Trash')).toEqual([]);
  });

  it('sends via sync and directly', async () => {
    const viaSync = await system.api('POST', '/api/v1/send', token, { to: ['boss@corp.example'], subject: 'via sync', text: 'hello', viaSync: true });
    expect(viaSync.status).toBe(202);
    expect(viaSync.json).toMatchObject({ folder: 'outbox', sendStatus: 'queued', viaSync: true });
    const direct = await system.api('POST', '/api/v1/send', token, { to: 'friend@example.test', subject: 'direct', text: 'hi' });
    expect(direct.json).toMatchObject({ folder: 'sent' });
    expect(system.relay.received.map((m) => m.to)).toEqual([['friend@example.test']]);
    await system.sync();
    expect(system.smtp.received.map((m) => m.to)).toEqual([['boss@corp.example']]);
    expect((await system.api('GET', '/api/v1/folders/sent', token)).json.messages.map((m: any) => m.subject).sort()).toEqual(['direct', 'via sync']);
  });

  it('reports status: last sync, pending actions, agent not connected between syncs', async () => {
    await system.api('POST', `/api/v1/messages/${ids.D1}/flag`, token);
    const status = await system.api('GET', '/api/v1/status', token);
    expect(status.json).toMatchObject({ account: 'user1', window: 5, pendingActions: 1, agentConnected: false, lastSync: { number: 4 } });
  });

  it('answers errors as JSON with stable codes', async () => {
    const cases: [string, string, string | undefined, unknown, number, string][] = [
      ['GET', '/api/v1/folders/inbox', undefined, undefined, 401, 'UNAUTHORIZED'],
      ['GET', '/api/v1/folders/inbox', 'tbd_not-a-token', undefined, 401, 'UNAUTHORIZED'],
      ['GET', '/api/v1/folders/archive', token, undefined, 404, 'NOT_FOUND'],
      ['GET', '/api/v1/messages/999999', token, undefined, 404, 'NOT_FOUND'],
      ['GET', '/api/v1/messages/abc', token, undefined, 404, 'NOT_FOUND'],
      ['POST', `/api/v1/messages/${ids.D1}/recover`, token, undefined, 409, 'WRONG_FOLDER'],
      ['POST', '/api/v1/send', token, '{not json', 400, 'BAD_REQUEST'],
      ['POST', '/api/v1/send', token, { to: 'not an address', text: 'x' }, 400, 'BAD_REQUEST'],
      ['DELETE', `/api/v1/messages/${ids.D1}`, token, undefined, 405, 'METHOD_NOT_ALLOWED'],
    ];
    for (const [method, path, t, body, status, code] of cases) {
      const answer = await system.api(method, path, t, body);
      expect([method, path, answer.status, answer.json?.error?.code]).toEqual([method, path, status, code]);
      expect(typeof answer.json.error.message).toBe('string');
    }
  });

  it("a device never sees or touches another account's mail", async () => {
    const before = JSON.stringify(await system.store.engine.all('SELECT * FROM messages ORDER BY id'));
    const pendingBefore = await system.store.actions.count('user1');
    const theirs = (await system.api('GET', '/api/v1/folders/inbox', other)).json.messages.map((m: any) => m.subject);
    expect(theirs).toEqual(['SECRET']);
    for (const op of ['read', 'unread', 'flag', 'unflag', 'trash', 'recover', 'destroy', 'retry']) {
      expect((await system.api('POST', `/api/v1/messages/${ids.D1}/${op}`, other)).status).toBe(404);
    }
    expect((await system.api('GET', `/api/v1/messages/${ids.D1}`, other)).status).toBe(404);
    expect((await system.api('GET', `/api/v1/messages/${ids.D1}/attachments/0`, other)).status).toBe(404);
    // The routes without a message ID act on the device's own account only.
    const status = (await system.api('GET', '/api/v1/status', other)).json;
    expect([status.account, status.pendingActions]).toEqual(['user2', 1]);
    for (const folder of ['trash', 'sent', 'outbox']) expect((await system.api('GET', `/api/v1/folders/${folder}`, other)).json.messages).toEqual([]);
    expect(JSON.stringify(await system.store.engine.all('SELECT * FROM messages ORDER BY id'))).toBe(before);
    expect(await system.store.actions.count('user1')).toBe(pendingBefore);
    const sent = await system.api('POST', '/api/v1/send', other, { to: 'x@example.test', subject: 'from user2', text: 'hi', viaSync: true });
    expect(sent.status).toBe(202);
    expect((await system.store.messages.get('user2', sent.json.id))?.folder).toBe('outbox');
    expect(await system.store.messages.get('user1', sent.json.id)).toBeUndefined();
    expect(await system.store.actions.count('user1')).toBe(pendingBefore);
  });
});
