/**
 * Issue 18.9, "requests done once, for real": a POST with an Idempotency-Key
 * claims the key before its work starts, so two requests with one key at
 * once run once — the slow one (a 10 MB attachment) included. Real HTTPS
 * requests against the server process; what counts is what was stored (the
 * Outbox), what left through the desktop's SMTP server, and what the desktop
 * Sent folder holds after a sync.
 *
 * Also: an error that changed nothing frees its key (the same request may be
 * sent again and runs); an answer that did something — a send the relay
 * refused, which waits in the Outbox marked failed — is remembered like any
 * answer; a key names one request.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwinboxSystem } from '@twinbox/testkit';

interface Answer {
  status: number;
  json: any;
  headers: Record<string, string | string[] | undefined>;
}

/** One phone API request with an Idempotency-Key, over its own HTTPS connection. */
function post(system: TwinboxSystem, path: string, token: string, key: string, body: unknown): Promise<Answer> {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: system.port,
        path,
        method: 'POST',
        rejectUnauthorized: false,
        agent: false,
        headers: { authorization: `Bearer ${token}`, 'idempotency-key': key, 'content-type': 'application/json', 'content-length': data.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')), headers: res.headers }));
      },
    );
    // The server may answer (409 IN_PROGRESS) before it has read a large body; the answer is what counts.
    req.on('error', reject);
    req.end(data);
  });
}

describe('requests done once', () => {
  let system: TwinboxSystem;
  let token: string;
  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.sync();
    token = await system.addDevice();
  });
  afterAll(async () => system?.stop());

  it('two-concurrent-sends-one-key-run-once: one Outbox row, one message at the desktop SMTP, one copy in the desktop Sent', async () => {
    const attachment = randomBytes(10 * 1024 * 1024).toString('base64');
    const send = {
      to: 'colleague@example.test',
      subject: 'Quarterly report',
      text: 'the figures, attached',
      attachments: [{ filename: 'report.bin', contentType: 'application/octet-stream', contentBase64: attachment }],
      viaSync: true,
    };
    const key = 'send-report-0001';
    const answers = await Promise.all([post(system, '/api/v1/send', token, key, send), post(system, '/api/v1/send', token, key, send)]);
    console.log(`two sends with one key at once: ${answers.map((a) => `${a.status} ${a.json.error?.code ?? `id ${a.json.id}`}`).join(', ')}`);
    const done = answers.filter((a) => a.status === 202);
    expect(done.length).toBeGreaterThanOrEqual(1);
    // The other one heard the first one's answer, or that it was still running.
    for (const a of answers) {
      if (a.status === 202) expect(a.json.id).toBe(done[0]!.json.id);
      else expect([a.status, a.json.error.code, a.headers['retry-after']]).toEqual([409, 'IN_PROGRESS', '1']);
    }
    expect((await system.store.messages.list('user1', 'outbox')).map((m) => m.id)).toEqual([done[0]!.json.id]);

    // Sent again after it finished: the first answer, marked as a replay, and still one row.
    const again = await post(system, '/api/v1/send', token, key, send);
    expect([again.status, again.json.id, again.headers['idempotent-replayed']]).toEqual([202, done[0]!.json.id, 'true']);
    expect(await system.store.messages.list('user1', 'outbox')).toHaveLength(1);

    await system.sync();
    expect(system.smtp.received.map((m) => m.to)).toEqual([['colleague@example.test']]);
    expect(system.smtp.received[0]!.raw.length).toBeGreaterThan(10 * 1024 * 1024);
    expect(await system.desktop.list('Sent')).toHaveLength(1);
    expect((await system.store.messages.list('user1', 'sent')).map((m) => m.subject)).toEqual(['Quarterly report']);
    expect(await system.store.messages.list('user1', 'outbox')).toEqual([]);
  }, 120_000);

  it('an-error-that-changed-nothing-frees-its-key: sent again, the request runs', async () => {
    const key = 'send-fixed-0002';
    const bad = await post(system, '/api/v1/send', token, key, { subject: 'no recipient', text: 'x', viaSync: true });
    expect([bad.status, bad.json.error.code]).toEqual([400, 'BAD_REQUEST']);
    const good = await post(system, '/api/v1/send', token, key, { to: 'colleague@example.test', subject: 'fixed', text: 'x', viaSync: true });
    expect(good.status).toBe(202);
    expect(good.headers['idempotent-replayed']).toBeUndefined();
    expect((await system.store.messages.list('user1', 'outbox')).map((m) => m.subject)).toEqual(['fixed']);
  });

  it('a-refused-send-is-remembered: the relay said no once, the same key gets that answer, the message waits in the Outbox once', async () => {
    system.relay.refuse.add('nobody@example.test');
    const key = 'send-refused-0003';
    const first = await post(system, '/api/v1/send', token, key, { to: 'nobody@example.test', subject: 'refused', text: 'x', viaSync: false });
    expect([first.status, first.json.error.code]).toEqual([502, 'SEND_FAILED']);
    const again = await post(system, '/api/v1/send', token, key, { to: 'nobody@example.test', subject: 'refused', text: 'x', viaSync: false });
    expect([again.status, again.json, again.headers['idempotent-replayed']]).toEqual([502, first.json, 'true']);
    const failed = (await system.store.messages.list('user1', 'outbox')).filter((m) => m.subject === 'refused');
    expect(failed.map((m) => m.sendStatus)).toEqual(['failed']);
    expect(system.relay.received).toEqual([]);
  });

  it('a-key-names-one-request: the same key on another route is refused and does nothing', async () => {
    const key = 'send-other-0004';
    expect((await post(system, '/api/v1/sync-now', token, key, { via: 'email' })).status).toBe(202);
    const reused = await post(system, '/api/v1/send', token, key, { to: 'colleague@example.test', subject: 'reused key', text: 'x', viaSync: true });
    expect([reused.status, reused.json.error.code]).toEqual([400, 'BAD_REQUEST']);
    expect(reused.json.error.message).toContain('POST /api/v1/sync-now');
    expect((await system.store.messages.list('user1', 'outbox')).map((m) => m.subject)).not.toContain('reused key');
  });
});
