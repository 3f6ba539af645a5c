/**
 * Issue 21, the whole desktop mailbox within the phone's reach (docs/reach.md),
 * all real: Dovecot, the server process, the background agent process. The
 * phone (the API, with a device token) searches the desktop below its window,
 * opens a result, browses a folder and moves a message, downloads a few-MB
 * attachment streamed through the agent's link, and hears clear errors when
 * the desktop is away or too slow. Search text is hostile input to an IMAP
 * command: it finds what it says and runs nothing else. A phone of another
 * account reaches nothing of this one.
 */
import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwinboxSystem, makeMessage, type AgentDaemon } from '@twinbox/testkit';

const day = (d: number) => new Date(Date.UTC(2026, 0, d, 9));

/** A message with a text part and one binary attachment (base64, lines of 76). */
function withAttachment(label: string, attachment: Buffer, date: Date): Buffer {
  const boundary = `b-${randomBytes(8).toString('hex')}`;
  const b64 = attachment.toString('base64').replace(/(.{76})/g, '$1\r\n');
  return Buffer.from(
    [
      'From: Colleague <colleague@example.test>',
      'To: user1@example.test',
      `Subject: ${label} the figures`,
      `Date: ${date.toUTCString()}`,
      `Message-ID: <${label}.${randomBytes(4).toString('hex')}@twinbox.test>`,
      `X-Scenario-Label: ${label}`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Here are the figures (${label}).`,
      `--${boundary}`,
      'Content-Type: application/octet-stream; name="figures.bin"',
      'Content-Disposition: attachment; filename="figures.bin"',
      'Content-Transfer-Encoding: base64',
      '',
      b64,
      `--${boundary}--`,
      '',
    ].join('\r\n'),
  );
}

describe('the desktop beyond the window (docs/reach.md)', () => {
  let system: TwinboxSystem;
  let daemon: AgentDaemon;
  let token: string;
  const attachment = randomBytes(3 * 1024 * 1024 + 12345);
  const api = (method: string, path: string, body?: unknown, as = token) => system.api(method, `/api/v1/desktop/${path}`, as, body);
  const query = async (filter: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const answer = await api('POST', 'query', { filter, ...extra });
    expect(answer.status, answer.raw.toString()).toBe(200);
    return answer.json as { total: number; items: { id: string; subject: string; mailboxId: string; preview: string; hasAttachment: boolean }[] };
  };

  /** Wait until the server says the agent is (or is not) connected. */
  const agentConnected = async (wanted: boolean) => {
    for (let i = 0; i < 200; i++) {
      if ((await system.api('GET', '/api/v1/status', token)).json.agentConnected === wanted) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the agent is still ${wanted ? 'not ' : ''}connected`);
  };

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 3 });
    // A short deadline, so the test of a desktop that does not answer does not wait the default 30 s.
    system.editServerConfig((c) => ((c as { reach?: object }).reach = { timeoutSeconds: 5 }));
    await system.stopServer();
    await system.startServer();
    for (let i = 1; i <= 8; i++) await system.desktop.deliver({ label: `D${i}`, date: day(i) });
    await system.desktop.appendTo('INBOX', makeMessage({ label: 'Q1', subject: 'Budget "Q3" {5} review \\ final', date: day(9) }), day(9));
    await system.desktop.appendTo(
      'INBOX',
      Buffer.from(makeMessage({ label: 'W1', date: day(10) }).toString().replace('Body of W1.', 'Please run A1 DELETE INBOX now.')),
      day(10),
    );
    await system.desktop.createFolder('Projects');
    await system.desktop.appendTo('Projects', makeMessage({ label: 'P1', subject: 'kickoff notes', date: day(2) }), day(2));
    await system.desktop.appendTo('Projects', withAttachment('P2', attachment, day(3)), day(3));
    daemon = await system.startDaemon(['--schedule', 'off']);
    await daemon.waitFor((e) => e.event === 'sync' && e.reason === 'startup', 60_000);
    token = await system.addDevice();
    await agentConnected(true);
  });

  afterAll(async () => {
    await system?.stop();
  });

  it('search-below-window: a search finds a message the window does not hold, and it opens', async () => {
    expect(await system.phoneLabels()).not.toContain('D1');
    const found = await query({ subject: 'D1' });
    expect(found.items.map((i) => i.subject)).toEqual(['D1']);
    expect(found.items[0]!.mailboxId).toBe('INBOX');
    expect(found.items[0]!.preview).toContain('Body of D1');
    const opened = await api('GET', `emails/${found.items[0]!.id}`);
    expect(opened.status).toBe(200);
    expect(opened.json).toMatchObject({ subject: 'D1', from: expect.stringContaining('sender@example.test'), isTruncated: false, seen: false });
    expect(opened.json.text).toContain('Body of D1');
    // A search of INBOX alone, the folder the watcher waits in (IDLE): its UID SORT goes out at once, not after the IDLE.
    const inInbox = await query({ inMailbox: 'INBOX', subject: 'D1' });
    expect(inInbox.items.map((i) => i.subject)).toEqual(['D1']);
    // Newest first, a page at a time, across every folder but Trash and Junk.
    const page = await query({ text: 'Body of D' }, { position: 2, limit: 3 });
    expect(page.total).toBe(8);
    expect(page.items.map((i) => i.subject)).toEqual(['D6', 'D5', 'D4']);
    // The phone's window is unchanged: results are a list, never inserted.
    expect(await system.phoneLabels()).toHaveLength(3);
    // Read from the phone: a desktop action.
    expect((await api('POST', `emails/${found.items[0]!.id}/read`)).status).toBe(200);
    await expect.poll(async () => (await system.desktop.list()).find((m) => m.label === 'D1')?.seen).toBe(true);
  });

  it('browse-and-move: the folder tree with counts, a folder page, a move from the phone', async () => {
    const boxes = await api('GET', 'mailboxes');
    expect(boxes.status).toBe(200);
    const byId = new Map((boxes.json.mailboxes as { id: string; role: string | null; totalEmails: number }[]).map((m) => [m.id, m]));
    expect(byId.get('INBOX')).toMatchObject({ role: 'inbox', totalEmails: 10 });
    expect(byId.get('Projects')).toMatchObject({ role: null, totalEmails: 2 });
    expect([...byId.values()].some((m) => m.role === 'trash')).toBe(true);
    const projects = await query({ inMailbox: 'Projects' });
    expect(projects.items.map((i) => i.subject)).toEqual(['P2 the figures', '[P1] kickoff notes']);
    expect(projects.items[0]!.hasAttachment).toBe(true);
    const moved = await api('POST', `emails/${projects.items[1]!.id}/move`, { mailboxId: 'INBOX' });
    expect(moved.status, moved.raw.toString()).toBe(200);
    expect(await system.desktop.labelsIn('Projects')).toEqual(['P2']);
    expect(await system.desktop.labelsIn('INBOX')).toContain('P1');
    // The new id opens the message where it is now.
    const reopened = await api('GET', `emails/${moved.json.id}`);
    expect(reopened.json).toMatchObject({ mailboxId: 'INBOX', subject: '[P1] kickoff notes' });
  });

  it('attachment-streamed: a few-MB attachment comes through the link byte for byte, then from the cache', async () => {
    const [p2] = (await query({ inMailbox: 'Projects', subject: 'P2' })).items;
    const opened = await api('GET', `emails/${p2!.id}`);
    expect(opened.json.text).toContain('Here are the figures (P2).');
    expect(opened.json.attachments).toEqual([expect.objectContaining({ partId: '2', name: 'figures.bin', disposition: 'attachment' })]);
    const download = await api('GET', `emails/${p2!.id}/parts/2`);
    expect(download.status).toBe(200);
    expect(download.headers['content-disposition']).toContain("filename*=UTF-8''figures.bin");
    expect(download.raw.equals(attachment)).toBe(true);
    // Kept by the server under its cap: downloaded again without asking the desktop (which is away now).
    await daemon.stop();
    await expect.poll(async () => (await system.api('GET', '/api/v1/status', token)).json.agentConnected, { timeout: 20_000 }).toBe(false);
    const again = await api('GET', `emails/${p2!.id}/parts/2`);
    expect(again.status).toBe(200);
    expect(again.raw.equals(attachment)).toBe(true);
    // So is the message that was opened.
    expect((await api('GET', `emails/${p2!.id}`)).json.text).toContain('Here are the figures (P2).');
  });

  it('desktop-offline: with no agent connected, the phone hears DESKTOP_OFFLINE at once', async () => {
    const boxes = await api('GET', 'mailboxes');
    expect(boxes.status).toBe(503);
    expect(boxes.json.error.code).toBe('DESKTOP_OFFLINE');
    const search = await api('POST', 'query', { filter: { text: 'anything' } });
    expect(search.json.error.code).toBe('DESKTOP_OFFLINE');
    daemon = await system.startDaemon(['--schedule', 'off', '--no-startup-sync']);
    await expect.poll(async () => (await system.api('GET', '/api/v1/status', token)).json.agentConnected, { timeout: 20_000 }).toBe(true);
  });

  it('hostile-search: IMAP syntax in search text finds what it says and runs nothing else', async () => {
    const before = await system.desktop.folderCounts();
    expect((await query({ subject: '"Q3" {5}' })).items.map((i) => i.subject)).toEqual(['[Q1] Budget "Q3" {5} review \\ final']);
    expect((await query({ subject: 'review \\ final' })).items).toHaveLength(1);
    // CR LF cannot end the command: they are white space between words, and the words are searched for.
    const injected = await query({ text: '\r\nA1 DELETE INBOX' });
    expect(injected.items.map((i) => i.subject)).toEqual(['W1']);
    for (const text of ['x"\r\nA1 DELETE INBOX\r\n', '{5}\r\nA2 DELETE Projects', ')) OR ALL (("', 'ä{3}\r\nabc', '\\"\r\n* BYE']) {
      const answer = await api('POST', 'query', { filter: { text, subject: text, from: text } });
      expect(answer.status, `${JSON.stringify(text)}: ${answer.raw.toString()}`).toBe(200);
      expect(answer.json.items).toEqual([]);
    }
    // Too long is refused before anything reaches the desktop.
    expect((await api('POST', 'query', { filter: { text: 'x'.repeat(257) } })).json.error.code).toBe('BAD_REQUEST');
    expect(await system.desktop.folderCounts()).toEqual(before);
    expect((await api('GET', 'mailboxes')).status).toBe(200);
  });

  it('inbox-while-idle: browsing INBOX, the folder the watcher idles in, answers at once (no wait for IDLE to end)', async () => {
    // The lane borrows the desktop watcher's connection, in IDLE on INBOX: a raw command sent there without
    // ending IDLE first waited for IDLE's own end (a minute) and the phone got TIMEOUT (security review, issue 21).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const inbox = await query({ inMailbox: 'INBOX' }, { limit: 3 });
    expect(inbox.items).toHaveLength(3);
    expect(inbox.total).toBeGreaterThanOrEqual(10);
  });

  it('search-dates: dates IMAP cannot say are refused; no phone request teaches the agent a refusal', async () => {
    const far = await api('POST', 'query', { filter: { inMailbox: 'INBOX', after: '+275760-09-13T00:00:00.000Z' } });
    expect(far.status).toBe(400);
    expect(far.json.error.code).toBe('BAD_REQUEST');
    expect((await query({ inMailbox: 'INBOX', after: '9999-12-31T00:00:00.000Z' })).items).toEqual([]);
    // A move the server refuses (no such folder): answered, and nothing remembered against MOVE or SORT.
    const [d2] = (await query({ subject: 'D2' })).items;
    expect((await api('POST', `emails/${d2!.id}/move`, { mailboxId: 'No such folder' })).json.error.code).toBe('NOT_FOUND');
    const status = await system.agentCli(['status', '--config', system.agentConfig, '--json']);
    expect(JSON.parse(status.stdout).imapFallbacks).toEqual([]);
  });

  it('download-broken-off: a phone that stops reading and goes away leaves nothing in the cache', async () => {
    const big = randomBytes(12 * 1024 * 1024);
    await system.desktop.appendTo('Projects', withAttachment('P3', big, day(4)), day(4));
    const [p3] = (await query({ inMailbox: 'Projects', subject: 'P3' })).items;
    await new Promise<void>((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port: system.port, path: `/api/v1/desktop/emails/${p3!.id}/parts/2`, rejectUnauthorized: false, headers: { authorization: `Bearer ${token}` } },
        (res) => {
          expect(res.statusCode).toBe(200);
          // Take a first chunk, then stop reading (the server's writes back up), then go away.
          res.once('data', () => {
            res.pause();
            setTimeout(() => {
              req.destroy();
              resolve();
            }, 2000);
          });
        },
      );
      req.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? undefined : reject(err)));
      req.end();
    });
    const held = async () => {
      const store = await system.openStore();
      const rows = (await store.engine.get<{ n: number }>('SELECT COUNT(*) AS n FROM reach_cache_chunks c JOIN reach_cache e USING (account_id, key) WHERE e.complete = 0'))!;
      await system.closeStore();
      return rows.n;
    };
    await expect.poll(held, { timeout: 30_000 }).toBe(0);
    // And the lane is free again: the whole part still comes, byte for byte.
    const whole = await api('GET', `emails/${p3!.id}/parts/2`);
    expect(whole.raw.equals(big)).toBe(true);
  });

  it('other-account: a phone of another account reaches nothing of this desktop', async () => {
    await system.addAccount('user2');
    const other = await system.addDevice('user2');
    const mine = (await query({ subject: 'D2' })).items[0]!;
    for (const [method, path] of [
      ['GET', 'mailboxes'],
      ['GET', `emails/${mine.id}`],
      ['GET', `emails/${mine.id}/parts/1`],
      ['POST', `emails/${mine.id}/trash`],
    ] as const) {
      const answer = await api(method, path, undefined, other);
      expect(answer.status, `${method} ${path}`).toBe(503);
      expect(answer.json.error.code).toBe('DESKTOP_OFFLINE');
    }
    // Even a message this account's phone already read (it is in this account's cache) stays this account's.
    const p2 = (await query({ inMailbox: 'Projects', subject: 'P2' })).items[0]!;
    const cachedForMe = await api('GET', `emails/${p2.id}/parts/2`);
    expect(cachedForMe.status).toBe(200);
    expect((await api('GET', `emails/${p2.id}/parts/2`, undefined, other)).json.error.code).toBe('DESKTOP_OFFLINE');
    expect(await system.desktop.labelsIn('INBOX')).toContain('D2');
  });

  it('timeout: an agent that does not answer gives TIMEOUT, and answers again once it runs', async () => {
    daemon.child.kill('SIGSTOP');
    try {
      const answer = await api('GET', 'mailboxes');
      expect(answer.status).toBe(504);
      expect(answer.json.error.code).toBe('TIMEOUT');
    } finally {
      daemon.child.kill('SIGCONT');
    }
    await expect.poll(async () => (await api('GET', 'mailboxes')).status, { timeout: 30_000 }).toBe(200);
  });
});

describe('the interactive lane (docs/reach.md "How a request travels")', () => {
  let system: TwinboxSystem | undefined;
  afterAll(async () => {
    await system?.stop();
  });

  it('lane-not-behind-sync: a search is answered while a long initial sync is still running', async () => {
    system = await TwinboxSystem.start({ window: 600 });
    const body = 'y'.repeat(40 * 1024);
    for (let i = 1; i <= 600; i++) {
      const raw = Buffer.from(makeMessage({ label: `S${i}`, date: day(1 + (i % 28)) }).toString().replace(`Body of S${i}.`, body));
      await system.desktop.appendTo('INBOX', raw, day(1 + (i % 28)));
    }
    await system.desktop.createFolder('Archive 2025');
    await system.desktop.appendTo('Archive 2025', makeMessage({ label: 'OLD', subject: 'the old contract' }), day(1));
    const token = await system.addDevice();
    // The agent starts and syncs 600 messages of 40 KB into the phone window (about 24 MB over the link).
    const daemon = await system.startDaemon(['--schedule', 'off']);
    let answer: Awaited<ReturnType<TwinboxSystem['api']>> | undefined;
    for (let i = 0; i < 200 && !answer; i++) {
      const tried = await system.api('POST', '/api/v1/desktop/query', token, { filter: { subject: 'old contract' } });
      if (tried.status === 200) answer = tried;
      else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Answered, and the initial sync has not finished yet: the request did not wait for it.
    const syncedBefore = daemon.syncs.length;
    expect(answer?.json.items.map((i: { subject: string }) => i.subject)).toEqual(['[OLD] the old contract']);
    expect(syncedBefore).toBe(0);
    const done = await daemon.waitFor((e) => e.event === 'sync' || e.event === 'syncFailed', 300_000);
    expect(done.event).toBe('sync');
    expect(await system.phoneLabels()).toHaveLength(600);
  });
});
