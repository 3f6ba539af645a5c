/**
 * The server's store on both engines (issue 22; docs/scaling.md): the same
 * store code over SQLite and over a private PostgreSQL (the testkit's), with
 * the same schema, the same answers, and transactions that behave alike —
 * all or nothing, told after commit, one account's work taking turns, and
 * several nodes migrating one empty database at once.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConnection, createServer, type Socket } from 'node:net';
import { RETENTION_DEFAULTS, ServerStore, StoredFailureLimiter, createLogger, runHousekeeping } from '@twinbox/sync-server';
import { PostgresEngine } from '../../packages/sync-server/src/store/postgres-engine.js';
import { postgresAvailable, startPostgres, type Postgres } from '@twinbox/testkit';

const raw = (subject: string, body = 'hello') =>
  Buffer.from(`From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@x>\r\nDate: Thu, 3 Dec 2026 10:00:00 +0000\r\n\r\n${body}\r\n`);

let pg: Postgres | undefined;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'twinbox-engines-'));
  if (postgresAvailable()) pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Open = () => Promise<ServerStore>;
const engines: [string, Open][] = [
  ['sqlite', async () => ServerStore.open(join(dir, `s${Math.random().toString(36).slice(2)}.db`))],
  ['postgres', async () => ServerStore.open((await pg!.createDatabase()).url)],
];

describe.each(engines)('the store on %s', (engine, open) => {
  it('keeps accounts, messages and actions, and answers alike', async () => {
    if (engine === 'postgres' && !pg) throw new Error('PostgreSQL is not installed: bash scripts/ensure-ready.sh installs it');
    const store = await open();
    try {
      expect(store.engine.dialect).toBe(engine);
      const { account, token } = await store.accounts.add({ id: 'user1', desktopAddress: 'u@desk.example', window: 7 });
      expect(account.window).toBe(7);
      expect((await store.accounts.authenticate('user1', token))?.id).toBe('user1');
      expect(await store.accounts.authenticate('user1', 'tbx_wrong')).toBeUndefined();
      expect((await store.accounts.byPhoneAddress('USER1@phone.invalid'))?.id).toBe('user1');
      // Only ASCII letters match in any case, on both engines (PostgreSQL's lower() would fold Ä to ä too).
      await store.accounts.add({ id: 'umlaut', desktopAddress: 'x@desk.example', phoneAddress: 'ä@phone.example' });
      expect((await store.accounts.byPhoneAddress('ä@PHONE.example'))?.id).toBe('umlaut');
      expect(await store.accounts.byPhoneAddress('Ä@phone.example')).toBeUndefined();
      await store.accounts.setOptions('user1', { window: 9, unreadFirst: true });
      expect(await store.accounts.get('user1')).toMatchObject({ window: 9, unreadFirst: true });

      const old = await store.messages.insert('user1', { folder: 'inbox', raw: raw('old'), date: 1_000, seen: true, flagged: false, tiebreak: 5 });
      // A NUL in a header (hostile mail): PostgreSQL's text cannot hold it; the bytes and the digest keep it.
      const hostile = await store.messages.insert('user1', { folder: 'inbox', raw: raw('nul\u0000here'), date: 2_000_000_000_000, seen: false, flagged: true });
      expect(hostile).toBeGreaterThan(old);
      const listed = await store.messages.list('user1', 'inbox');
      expect(listed.map((m) => m.id)).toEqual([hostile, old]);
      expect(listed[0]).toMatchObject({ date: 2_000_000_000_000, seen: false, flagged: true, agreedFlagged: true, tiebreak: null });
      expect(typeof listed[0]!.size).toBe('number');
      expect(listed[0]!.subject).toMatch(/^nul.?here$/u);
      expect((await store.messages.raw('user1', hostile))!.length).toBeGreaterThan(0);
      expect(await store.messages.count('user1', 'inbox')).toBe(2);
      expect(await store.messages.bytes('user1')).toBe(listed.reduce((n, m) => n + m.size, 0));
      const same = await store.messages.findSame('user1', listed[1]!, ['inbox', 'trash']);
      expect(same?.id).toBe(old);
      expect(await store.messages.findSame('user1', listed[1]!, ['sent'])).toBeUndefined();

      await store.messages.setFlag('user1', old, 'seen', false, false);
      await store.messages.setOrder('user1', old, 1_000, 6);
      expect(await store.messages.get('user1', old)).toMatchObject({ seen: false, agreedSeen: true, tiebreak: 6 });
      // Every flag agreed but the excepted message's; an empty exception list excepts nothing.
      await store.messages.agreeOnAllFlags('user1', [old]);
      expect((await store.messages.get('user1', old))!.agreedSeen).toBe(true);
      await store.messages.agreeOnAllFlags('user1', []);
      expect((await store.messages.get('user1', old))!.agreedSeen).toBe(false);

      const a1 = await store.actions.append('user1', 'markRead', old);
      const a2 = await store.actions.append('user1', 'trash', old);
      const a3 = await store.actions.append('user1', 'destroy', hostile, { folder: 'inbox', fingerprint: 'f', digest: 'd' });
      expect(await store.actions.lastSeq('user1')).toBe(a3);
      expect(await store.actions.flagChangesAfter('user1', 0)).toEqual([old]);
      await store.actions.deleteKindsThrough('user1', ['markRead', 'destroy'], a2);
      expect((await store.actions.pending('user1')).map((r) => [r.seq, r.kind, r.identity])).toEqual([
        [a2, 'trash', null],
        [a3, 'destroy', { folder: 'inbox', fingerprint: 'f', digest: 'd' }],
      ]);
      expect(a1).toBeLessThan(a2);

      // Upserts: presence keeps `since` while the state stands; trigger claims once per interval.
      await store.presence.record('user1', true, 100);
      await store.presence.record('user1', true, 200);
      expect(await store.presence.get('user1', 250)).toEqual({ state: 'connected', since: 100, node: '' });
      expect((await store.triggerMails.claim('user1', 60_000, 1_000)).claimed).toBe(true);
      expect((await store.triggerMails.claim('user1', 60_000, 2_000)).claimed).toBe(false);

      // Devices, sign-in codes (one use), push subscriptions of a session or of the device itself (NULL session).
      const { device, token: deviceToken } = await store.devices.add('user1', 'phone');
      expect((await store.devices.authenticate(deviceToken))?.id).toBe(device.id);
      const code = await store.devices.signInCode(device.id);
      const signedIn = await store.devices.redeem(code);
      expect(signedIn?.device.id).toBe(device.id);
      expect(await store.devices.redeem(code)).toBeUndefined();
      const sub = { accountId: 'user1', endpoint: 'https://push.example/1', p256dh: 'k', auth: 'a', serverKey: 's', show: 'sender' as const };
      await store.push.register({ deviceId: device.id }, sub);
      await store.push.register({ deviceId: device.id, session: signedIn!.session }, { ...sub, endpoint: 'https://push.example/2' });
      expect((await store.push.of({ deviceId: device.id }))?.endpoint).toBe('https://push.example/1');
      expect((await store.push.of({ deviceId: device.id, session: signedIn!.session }))?.endpoint).toBe('https://push.example/2');
      expect(await store.push.addNewMail('user1', 2, hostile)).toHaveLength(2);
      expect((await store.devices.list('user1'))[0]).toMatchObject({ id: device.id, sessions: 1 });

      // The reach cache: a part in chunks, LRU eviction under the cap.
      const writer = (await store.reachCache.begin('user1', 'part-1', { type: 'text/plain' }, 6, 1_000))!;
      await writer.write(Buffer.from('abc'));
      await writer.write(Buffer.from('def'));
      await writer.finish();
      const chunks: Buffer[] = [];
      for await (const chunk of store.reachCache.chunks('user1', 'part-1')) chunks.push(chunk);
      expect(Buffer.concat(chunks).toString()).toBe('abcdef');
      // 998 bytes of meta: with the part's 6, over the cap of 1,000, so the part (used least recently) goes.
      await store.reachCache.put('user1', 'meta-1', { x: 'y'.repeat(990) }, 1_000);
      expect(await store.reachCache.get('user1', 'part-1')).toBeUndefined();

      // Removing the account removes everything of it.
      expect(await store.accounts.remove('user1')).toBe(true);
      expect(await store.messages.count('user1', 'inbox')).toBe(0);
      expect(await store.actions.count('user1')).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('runs a transaction all or nothing, tells watchers after commit, and keeps a failed savepoint to itself', async () => {
    if (engine === 'postgres' && !pg) throw new Error('PostgreSQL is not installed');
    const store = await open();
    try {
      await store.accounts.add({ id: 'user1', desktopAddress: 'u@desk.example' });
      const heard: string[] = [];
      store.events.on('mailbox', () => heard.push(store.engine.inTransaction() ? 'inside' : 'after'));
      await expect(
        store.transaction(async () => {
          await store.messages.insert('user1', { folder: 'inbox', raw: raw('gone'), date: 1, seen: false, flagged: false });
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(await store.messages.count('user1', 'inbox')).toBe(0);
      expect(heard).toEqual([]);

      await store.transaction(async () => {
        await store.messages.insert('user1', { folder: 'inbox', raw: raw('kept'), date: 1, seen: false, flagged: false });
        expect(heard).toEqual([]);
        await expect(
          store.transaction(async () => {
            await store.messages.insert('user1', { folder: 'inbox', raw: raw('inner'), date: 2, seen: false, flagged: false });
            // A statement that fails in the database (a foreign key), inside the savepoint.
            await store.messages.insert('no-such-account', { folder: 'inbox', raw: raw('x'), date: 3, seen: false, flagged: false });
          }),
        ).rejects.toThrow();
      });
      expect((await store.messages.list('user1', 'inbox')).map((m) => m.subject)).toEqual(['kept']);
      // SQLite tells at once; PostgreSQL through NOTIFY, a moment after the commit — once for the transaction.
      await expect.poll(() => heard).toEqual(['after']);
      await new Promise((r) => setTimeout(r, 200));
      expect(heard).toEqual(['after']);
    } finally {
      await store.close();
    }
  });

  it('keeps sibling and nested savepoints apart: a failed one between kept ones, one without a statement, a failure deep inside', async () => {
    if (engine === 'postgres' && !pg) throw new Error('PostgreSQL is not installed');
    const store = await open();
    try {
      await store.accounts.add({ id: 'user1', desktopAddress: 'u@desk.example' });
      const add = (label: string, date: number) => store.messages.insert('user1', { folder: 'inbox', raw: raw(label), date, seen: false, flagged: false });
      const broken = () => store.messages.insert('no-such-account', { folder: 'inbox', raw: raw('x'), date: 99, seen: false, flagged: false });
      await store.transaction(
        async () => {
          await store.transaction(() => add('first', 1));
          // A savepoint whose work fails in the database: its insert goes, the first stays.
          await expect(store.transaction(async () => (await add('undone', 2), await broken()))).rejects.toThrow();
          // One that runs no statement, and one that fails before any: nothing to undo.
          await store.transaction(async () => undefined);
          await expect(store.transaction(async () => Promise.reject(new Error('no statement ran')))).rejects.toThrow('no statement ran');
          // Nested: the inner failure is undone, the middle level's own insert is kept.
          await store.transaction(async () => {
            await add('middle', 3);
            await expect(store.transaction(async () => (await add('deep', 4), await broken()))).rejects.toThrow();
            await add('after deep', 5);
          });
          // Statements sent together (one page of work) in a savepoint that then fails: all of them go.
          await expect(store.transaction(async () => (await Promise.all([add('p1', 6), add('p2', 7)]), await broken()))).rejects.toThrow();
          await add('last', 8);
        },
        { scope: 'user1' },
      );
      expect((await store.messages.list('user1', 'inbox')).map((m) => m.subject).sort()).toEqual(['after deep', 'first', 'last', 'middle']);
      // A scoped transaction that sends no statement still commits its notifications, and a later one proceeds.
      await store.transaction(async () => undefined, { scope: 'user1' });
      expect(await store.messages.count('user1', 'inbox')).toBe(4);
    } finally {
      await store.close();
    }
  });

  it("leases an account's sync to one session across nodes, until it expires or its node restarts", async () => {
    if (engine === 'postgres' && !pg) throw new Error('PostgreSQL is not installed');
    const store = await open();
    try {
      await store.accounts.add({ id: 'user1', desktopAddress: 'u@desk.example' });
      const a = { node: 'node-a', boot: 'b1', session: 1 };
      const b = { node: 'node-b', boot: 'c1', session: 1 };
      expect(await store.leases.acquire('user1', a, 60_000)).toBe(true);
      expect(await store.leases.acquire('user1', b, 60_000)).toBe(false);
      expect(await store.leases.renew('user1', a, 60_000)).toBe(true);
      expect(await store.leases.holder('user1')).toBe('node-a/b1/1');
      // Node A restarted (a new boot under its name): its earlier run's lease is void at once.
      const aAgain = { node: 'node-a', boot: 'b2', session: 1 };
      expect(await store.leases.acquire('user1', aAgain, 60_000)).toBe(true);
      expect(await store.leases.renew('user1', a, 60_000)).toBe(false);
      // A lease not renewed in time (here: already past) is free for another node.
      expect(await store.leases.renew('user1', aAgain, -1)).toBe(true);
      expect(await store.leases.holder('user1')).toBeUndefined();
      expect(await store.leases.acquire('user1', b, 60_000)).toBe(true);
      expect(await store.leases.renew('user1', aAgain, 60_000)).toBe(false);
      await store.leases.release('user1', aAgain);
      expect(await store.leases.holder('user1')).toBe('node-b/c1/1');
      await store.leases.release('user1', b);
      expect(await store.leases.acquire('user1', a, 60_000)).toBe(true);
    } finally {
      await store.close();
    }
  });

  it('lets one housekeeping run at a time work, across nodes and a command run beside them', async () => {
    if (engine === 'postgres' && !pg) throw new Error('PostgreSQL is not installed');
    const store = await open();
    try {
      await store.accounts.add({ id: 'user1', desktopAddress: 'u@desk.example' });
      const log = createLogger('server');
      // Node B's run holds the turn: node A's scheduled run leaves the work to it, a command waits for it.
      const b = { node: 'node-b', boot: 'c1', session: 1 };
      expect(await store.jobs.acquire('housekeeping', b, 60_000)).toBe(true);
      expect(await runHousekeeping(store, RETENTION_DEFAULTS, log, { node: 'node-a' })).toEqual({ accounts: {}, pagesFreed: 0, busy: 'node-b' });
      const waiting = runHousekeeping(store, RETENTION_DEFAULTS, log, { node: 'node-a:command', waitMs: 10_000 });
      await new Promise((r) => setTimeout(r, 600));
      expect(await store.jobs.holder('housekeeping')).toBe('node-b/c1/1');
      await store.jobs.release('housekeeping', b);
      expect((await waiting).busy).toBeUndefined();
      // Done, it gives the turn back.
      expect(await store.jobs.holder('housekeeping')).toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('runs concurrent read-then-write transactions as if one after the other', async () => {
    if (engine === 'postgres' && !pg) throw new Error('PostgreSQL is not installed');
    const store = await open();
    try {
      await store.accounts.add({ id: 'user1', desktopAddress: 'u@desk.example' });
      const id = await store.messages.insert('user1', { folder: 'inbox', raw: raw('counter'), date: 0, seen: false, flagged: false });
      // Thirty transactions each read the message's date and write it back plus one: ten at once without a
      // scope (on PostgreSQL: SERIALIZABLE, run again after a serialization failure), then twenty at once
      // naming the account (on PostgreSQL: they take turns on its lock). Mixing the two on one account's rows
      // is what engine.ts rules out: every transaction that writes an account's rows names it.
      const readThenWrite = async () => {
        const m = await store.messages.get('user1', id);
        await new Promise((r) => setTimeout(r, Math.random() * 5));
        await store.messages.setOrder('user1', id, m!.date + 1, 1);
      };
      await Promise.all(Array.from({ length: 10 }, () => store.transaction(readThenWrite)));
      await Promise.all(Array.from({ length: 20 }, () => store.transaction(readThenWrite, { scope: 'user1' })));
      expect((await store.messages.get('user1', id))!.date).toBe(30);
    } finally {
      await store.close();
    }
  });
});

describe('nodes on one PostgreSQL database', () => {
  it("hear each other's changes: a phone change, a mailbox change, a revoked device", async () => {
    if (!pg) throw new Error('PostgreSQL is not installed');
    const url = (await pg.createDatabase()).url;
    const [a, b] = await Promise.all([ServerStore.open(url), ServerStore.open(url)]);
    try {
      const heard: string[] = [];
      b.actions.events.on('appended', (id: string) => heard.push(`appended ${id}`));
      b.events.on('mailbox', (id) => heard.push(`mailbox ${id}`));
      b.events.on('revoked', (id, device) => heard.push(`revoked ${id} ${device}`));
      b.events.on('sync', (id, event) => heard.push(`sync ${id} ${event.state}`));
      await a.accounts.add({ id: 'user1', desktopAddress: 'u@desk.example' });
      await a.transaction(async () => {
        const id = await a.messages.insert('user1', { folder: 'inbox', raw: raw('on a'), date: 1, seen: false, flagged: false });
        await a.actions.append('user1', 'insert', id);
      });
      const { device } = await a.devices.add('user1', 'phone');
      await a.devices.revoke('user1', device.id);
      a.syncStates.started('user1');
      await expect.poll(() => [...heard].sort()).toEqual(['appended user1', 'mailbox user1', `revoked user1 ${device.id}`, 'sync user1 started']);
      // A transaction rolled back tells nothing.
      await a.transaction(async () => {
        await a.actions.append('user1', 'markRead', 1);
        throw new Error('no');
      }).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 300));
      expect(heard.filter((h) => h.startsWith('appended'))).toHaveLength(1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('prepare each statement once per connection, unless told not to (a pooler in transaction mode)', async () => {
    if (!pg) throw new Error('PostgreSQL is not installed');
    const url = (await pg.createDatabase()).url;
    const preparedOn = async (store: ServerStore) =>
      store.transaction(async () => {
        // The same statement twice, then what this connection holds prepared (the transaction keeps one connection).
        for (let i = 0; i < 2; i++) await store.accounts.get('user1');
        return (await store.engine.all<{ statement: string }>('SELECT statement FROM pg_prepared_statements')).map((r) => r.statement);
      });
    const on = await ServerStore.open(url);
    const off = await ServerStore.open({ kind: 'postgres', url, preparedStatements: false });
    try {
      await on.accounts.add({ id: 'user1', desktopAddress: 'u@desk.example' });
      const prepared = await preparedOn(on);
      expect(prepared.filter((s) => s.includes('FROM accounts WHERE id = $1'))).toHaveLength(1);
      expect(await preparedOn(off)).toEqual([]);
      expect((await off.accounts.get('user1'))?.id).toBe('user1');
    } finally {
      await Promise.all([on.close(), off.close()]);
    }
  });

  it('keep answering after another node migrates a table they hold prepared statements of (a rolling upgrade)', async () => {
    if (!pg) throw new Error('PostgreSQL is not installed');
    const db = await pg.createDatabase();
    const store = await ServerStore.open(db.url);
    try {
      await store.accounts.add({ id: 'user1', desktopAddress: 'u@desk.example' });
      // `SELECT * FROM accounts` prepared on several of the pool's connections, inside transactions and outside.
      const reads = () => [...Array.from({ length: 4 }, () => store.accounts.get('user1')), store.transaction(async () => store.accounts.get('user1'), { scope: 'user1' })];
      for (const account of await Promise.all(reads())) expect(account?.id).toBe('user1');
      // A newer release's migration, as another node would run it: the result type of `SELECT *` changes.
      await pg.query('ALTER TABLE accounts ADD COLUMN added_by_a_newer_release TEXT', db.name);
      for (const account of await Promise.all(reads())) expect(account?.id).toBe('user1');
    } finally {
      await store.close();
    }
  });

  it('notice a LISTEN connection cut without a word (a failover, a NAT) and make it again: what is notified after is heard', async () => {
    if (!pg) throw new Error('PostgreSQL is not installed');
    const url = (await pg.createDatabase()).url;
    // A TCP relay in front of PostgreSQL for the LISTEN connection, which can freeze what it carries without closing it.
    const pairs: [Socket, Socket][] = [];
    const relay = createServer((phone) => {
      const db = createConnection({ host: '127.0.0.1', port: Number(new URL(url).port) });
      phone.pipe(db).pipe(phone);
      phone.on('error', () => db.destroy());
      db.on('error', () => phone.destroy());
      pairs.push([phone, db]);
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const listenUrl = new URL(url);
    listenUrl.port = String((relay.address() as { port: number }).port);
    const listening = new PostgresEngine({ url, listenUrl: listenUrl.href, listenProbeMs: 500 });
    const sender = new PostgresEngine({ url });
    try {
      const heard: unknown[] = [];
      await listening.listen((_topic, data) => heard.push(data));
      sender.notify('test', 'before');
      await expect.poll(() => heard).toContain('before');
      // Frozen: the connection stays open, nothing passes either way.
      for (const [a, b] of pairs) {
        a.unpipe();
        b.unpipe();
        a.pause();
        b.pause();
      }
      await expect
        .poll(
          () => {
            sender.notify('test', 'after');
            return heard;
          },
          { timeout: 15_000, interval: 250 },
        )
        .toContain('after');
      expect(pairs.length).toBeGreaterThan(1);
    } finally {
      await Promise.all([listening.close(), sender.close()]);
      for (const socket of pairs.flat()) socket.destroy();
      relay.close();
    }
  });

  it('count failed logins together: a source that failed on both nodes is held back on both, and only that source', async () => {
    if (!pg) throw new Error('PostgreSQL is not installed');
    const url = (await pg.createDatabase()).url;
    const [a, b] = await Promise.all([ServerStore.open(url), ServerStore.open(url)]);
    try {
      const onA = new StoredFailureLimiter(a.engine, 'api', { limit: 10, windowMs: 60_000 });
      const onB = new StoredFailureLimiter(b.engine, 'api', { limit: 10, windowMs: 60_000 });
      const source = ['source:192.0.2.7'];
      const now = Date.now();
      for (let i = 0; i < 5; i++) await onA.failed(source, now + i);
      for (let i = 0; i < 4; i++) await onB.failed(source, now + 10 + i);
      expect(await onA.allowed(source, now + 20)).toBe(true);
      await onB.failed(source, now + 20);
      // Ten in all: refused on both nodes (each alone saw five), another source and the sync endpoint's scope are not.
      expect(await onA.allowed(source, now + 30)).toBe(false);
      expect(await onB.allowed(source, now + 30)).toBe(false);
      expect(await onB.allowed(['source:192.0.2.8'], now + 30)).toBe(true);
      expect(await new StoredFailureLimiter(a.engine, 'sync').allowed(source, now + 30)).toBe(true);
      // Once the window has passed, in again; the old rows go with the next failure.
      expect(await onA.allowed(source, now + 60_030)).toBe(true);
      await onA.failed(['source:192.0.2.9'], now + 60_030);
      expect(await a.engine.get('SELECT COUNT(*) AS n FROM login_failures')).toEqual({ n: 1 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('SQLite', () => {
  it('a transaction SQLite rolled back by itself (a full disk) commits nothing of what follows in it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twinbox-sqlite-'));
    const store = await ServerStore.open(join(dir, 'server.db'));
    try {
      await store.accounts.add({ id: 'user1', desktopAddress: 'u@desk.example' });
      const db = (store.engine as unknown as { db: { exec(sql: string): void } }).db;
      const attempt = store.transaction(async () => {
        await store.engine.run("UPDATE accounts SET window = 7 WHERE id = 'user1'");
        // What SQLite does by itself after SQLITE_FULL or SQLITE_NOMEM: the whole transaction is gone.
        db.exec('ROLLBACK');
        await store.engine.run("UPDATE accounts SET window = 9 WHERE id = 'user1'");
      });
      await expect(attempt).rejects.toThrow(/rolled this transaction back/);
      expect((await store.accounts.get('user1'))?.window).not.toBe(9);
      expect((await store.accounts.get('user1'))?.window).not.toBe(7);
      // The store goes on.
      await store.transaction(() => store.engine.run("UPDATE accounts SET window = 11 WHERE id = 'user1'"));
      expect((await store.accounts.get('user1'))?.window).toBe(11);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('PostgreSQL and SQLite schemas', () => {
  it('have the same tables and columns', async () => {
    if (!pg) throw new Error('PostgreSQL is not installed');
    const lite = await ServerStore.open(join(dir, 'schema.db'));
    const url = (await pg.createDatabase()).url;
    const postgres = await ServerStore.open(url);
    try {
      const liteTables = await lite.engine.all<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name");
      const columnsOf = async (s: ServerStore, table: string) =>
        s.engine.dialect === 'sqlite'
          ? (await s.engine.all<{ name: string }>(`SELECT name FROM pragma_table_info('${table}') ORDER BY name`)).map((c) => c.name)
          : (await s.engine.all<{ name: string }>("SELECT column_name AS name FROM information_schema.columns WHERE table_name = ? ORDER BY column_name", [table])).map((c) => c.name);
      const pgTables = await postgres.engine.all<{ name: string }>(
        "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_name <> 'twinbox_schema' ORDER BY table_name",
      );
      expect(pgTables.map((t) => t.name)).toEqual(liteTables.map((t) => t.name));
      for (const { name } of liteTables) expect(await columnsOf(postgres, name), name).toEqual(await columnsOf(lite, name));
    } finally {
      await lite.close();
      await postgres.close();
    }
  });

  it('is made once when several nodes open an empty database at once', async () => {
    if (!pg) throw new Error('PostgreSQL is not installed');
    const url = (await pg.createDatabase()).url;
    const nodes = await Promise.all(Array.from({ length: 4 }, () => ServerStore.open(url)));
    try {
      expect(await nodes[0]!.engine.all('SELECT version FROM twinbox_schema')).toEqual([{ version: 17 }]);
      await nodes[1]!.accounts.add({ id: 'user1', desktopAddress: 'u@desk.example' });
      expect((await nodes[3]!.accounts.get('user1'))?.id).toBe('user1');
    } finally {
      await Promise.all(nodes.map((n) => n.close()));
    }
  });
});
