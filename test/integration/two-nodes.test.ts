/**
 * Two server nodes on one PostgreSQL database (issue 22; docs/scaling.md),
 * real processes: node A is the system's server, which the background agent
 * watches; node B is a second `twinbox-server start` from the same folder
 * and database under another node name. The phone, talking to node B, marks
 * a message read: node B records it, PostgreSQL tells node A (NOTIFY), node A
 * asks its agent for a sync, and the desktop copy is read — with no schedule
 * and no trigger e-mail to help. Node B knows the agent is online (the
 * presence rows) and passes "sync now" to node A. A desktop change synced
 * through node A is what node B's phone API shows. A request that needs the
 * agent (its folders, a search, an attachment beyond the window), made on
 * node B, is passed to node A, whose agent answers; the attachment streams
 * through both nodes with its bytes intact. What the phone sends cannot
 * choose where node B connects, nor hide a second request in the body.
 */

/** Bytes written as they are to a node's HTTPS port, and everything it answers until it closes (or 3 s pass). */
function raw(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => socket.write(text));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    const done = () => resolve(answer);
    socket.on('close', done);
    socket.on('error', done);
    setTimeout(() => (socket.destroy(), done()), 3000).unref();
  });
}
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:tls';
import { ConnectionCounter, ServerNode, TwinboxSystem, startPostgres, type AgentDaemon, type Postgres } from '@twinbox/testkit';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

describe('two server nodes on one PostgreSQL database', () => {
  let pg: Postgres;
  let system: TwinboxSystem;
  let nodeB: ServerNode;
  let daemon: AgentDaemon;

  beforeAll(async () => {
    pg = await startPostgres();
    system = await TwinboxSystem.start({ window: 5, storeUrl: (await pg.createDatabase()).url });
    nodeB = await ServerNode.start({
      config: join(system.serverDir, 'config.json'),
      name: 'b',
      edit: (c) => {
        c.cluster = { nodeName: 'node-b' };
        // Node A takes the phone address's mail; B serves HTTPS and sync only.
        delete c.smtp;
      },
    });
  });
  afterAll(async () => {
    await nodeB?.stop();
    await system?.stop();
    await pg?.stop();
  });

  it("a phone change made on node B wakes the agent held by node A, within seconds", async () => {
    await system.desktop.deliver({ label: 'D1', seen: false });
    await system.desktop.deliver({ label: 'D2', seen: false });
    daemon = await system.startDaemon(['--schedule', 'off', '--no-triggers']);
    await daemon.waitFor((e) => e.event === 'sync' && e.reason === 'startup', 30_000);
    const token = await system.addDevice();
    const inbox = await system.api('GET', '/api/v1/folders/inbox', token, undefined, nodeB.port);
    expect(inbox.status).toBe(200);
    const d1 = (inbox.json.messages as { id: number; subject: string }[]).find((m) => m.subject === 'D1')!;
    expect(d1).toBeDefined();

    const before = daemon.events.length;
    const read = await system.api('POST', `/api/v1/messages/${d1.id}/read`, token, undefined, nodeB.port);
    expect(read.status).toBe(200);
    // Node A heard of it from the database and asked its agent; the agent synced and the desktop copy is read.
    await daemon.waitFor((e) => e.event === 'sync' && e.reason === 'push', 20_000, before);
    await expect.poll(async () => (await system.desktop.list('INBOX')).find((m) => m.label === 'D1')?.seen, { timeout: 20_000 }).toBe(true);
    expect((await system.desktop.list('INBOX')).find((m) => m.label === 'D2')?.seen).toBe(false);
  });

  it("node B knows the agent is connected (to node A), and its \"sync now\" reaches the agent live, not by e-mail", async () => {
    const token = await system.addDevice();
    await expect.poll(async () => (await system.api('GET', '/api/v1/status', token, undefined, nodeB.port)).json.agentConnected, { timeout: 10_000 }).toBe(true);
    const before = daemon.events.length;
    const asked = await system.api('POST', '/api/v1/sync-now', token, {}, nodeB.port);
    expect(asked.status).toBe(202);
    expect(asked.json).toEqual({ path: 'live' });
    // `live`: over node A's link, no trigger e-mail (that answer is `email`); the agent hears it as a push.
    await daemon.waitFor((e) => e.event === 'sync' && e.reason === 'push', 20_000, before);
  });

  it('a desktop change synced through node A is what node B shows', async () => {
    const token = await system.addDevice();
    await system.desktop.setFlag('D2', '\\Flagged', true);
    await system.sync();
    const inbox = await system.api('GET', '/api/v1/folders/inbox', token, undefined, nodeB.port);
    expect((inbox.json.messages as { subject: string; flagged: boolean }[]).find((m) => m.subject === 'D2')?.flagged).toBe(true);
  });

  it('a request that needs the agent, made on node B, is answered by the agent held by node A: folders, a search, an attachment streamed whole', async () => {
    const attachment = randomBytes(3 * 1024 * 1024);
    const raw = Buffer.from(
      [
        'From: sender@example.test',
        'To: user1@example.test',
        'Subject: the video',
        'Message-ID: <video.two-nodes@twinbox.test>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        '--b',
        'Content-Type: text/plain',
        '',
        'The video.',
        '--b',
        'Content-Type: application/octet-stream; name="video.bin"',
        'Content-Disposition: attachment; filename="video.bin"',
        'Content-Transfer-Encoding: base64',
        '',
        attachment.toString('base64').replace(/.{76}/g, '$&\r\n'),
        '--b--',
        '',
      ].join('\r\n'),
    );
    await system.desktop.createFolder('Media');
    await system.desktop.appendTo('Media', raw, new Date(Date.UTC(2026, 0, 5)));
    const token = await system.addDevice();
    const folders = await system.api('GET', '/api/v1/desktop/mailboxes', token, undefined, nodeB.port);
    expect(folders.status, folders.raw.toString()).toBe(200);
    expect((folders.json.mailboxes as { name: string }[]).map((m) => m.name)).toContain('Media');
    const query = await system.api('POST', '/api/v1/desktop/query', token, { filter: { inMailbox: 'Media' } }, nodeB.port);
    expect(query.status, query.raw.toString()).toBe(200);
    const found = query.json.items[0] as { id: string; subject: string };
    expect(found.subject).toBe('the video');
    const download = await system.api('GET', `/api/v1/desktop/emails/${found.id}/parts/2`, token, undefined, nodeB.port);
    expect(download.status).toBe(200);
    expect(download.raw.equals(attachment)).toBe(true);
    // A desktop action through node B, done by the agent on node A: node A, asking the desktop afresh, sees it.
    expect((await system.api('GET', `/api/v1/desktop/emails/${found.id}`, token)).json.flagged).toBe(false);
    expect((await system.api('POST', `/api/v1/desktop/emails/${found.id}/flag`, token, undefined, nodeB.port)).status).toBe(200);
    expect((await system.api('GET', `/api/v1/desktop/emails/${found.id}`, token)).json.flagged).toBe(true);
  });

  it("a second node started under a live node's name is refused, naming the clash (it would take that node's syncs)", async () => {
    const clash = ServerNode.start({
      config: join(system.serverDir, 'config.json'),
      name: 'b-again',
      edit: (c) => {
        c.cluster = { nodeName: 'node-b' };
        delete c.smtp;
      },
    });
    await expect(clash).rejects.toThrow(/another server node named "node-b" is running \(reached at https:\/\/127\.0\.0\.1:\d+, seen \d+ s ago\): give each node its own cluster\.nodeName/);
    // Node B is untouched: it still serves.
    expect((await system.api('GET', '/api/v1/status', await system.addDevice(), undefined, nodeB.port)).status).toBe(200);
  });

  it('what a phone sends cannot choose where node B connects, nor hide a second request in a body', async () => {
    const token = await system.addDevice();
    const trap = await ConnectionCounter.start('127.0.0.1');
    try {
      // An absolute-form or scheme-relative request line naming another host: passed on to node A all the same.
      for (const line of [`https://127.0.0.1:${trap.port}/api/v1/desktop/mailboxes`, `//127.0.0.1:${trap.port}/api/v1/desktop/mailboxes`]) {
        const answer = await raw(nodeB.port, `GET ${line} HTTP/1.1\r\nHost: twinbox\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`);
        expect(answer, line).toMatch(/^HTTP\/1\.1 200 /);
        expect(answer, line).toContain('"mailboxes"');
      }
      expect(trap.connections).toBe(0);
      // A GET with a chunked body holding a second request: refused, and nothing of it reaches node A.
      const hidden = `GET /api/v1/desktop/mailboxes HTTP/1.1\r\nHost: twinbox\r\nAuthorization: Bearer ${token}\r\n\r\n`;
      const smuggle = `GET /api/v1/desktop/mailboxes HTTP/1.1\r\nHost: twinbox\r\nAuthorization: Bearer ${token}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${hidden.length.toString(16)}\r\n${hidden}\r\n0\r\n\r\n`;
      const answer = await raw(nodeB.port, smuggle);
      expect(answer).toMatch(/^HTTP\/1\.1 400 /);
      expect(answer).toContain('has no body');
    } finally {
      await trap.close();
    }
  });
});
