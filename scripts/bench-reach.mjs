#!/usr/bin/env node
// npm run bench -- --reach — the whole desktop mailbox within the phone's reach
// (issue 21, docs/reach.md), measured on the real system: a private Dovecot
// holding a desktop of --messages in INBOX (default 100,000) plus folders
// (Archive, Projects, Sent, Trash, Media), the server and `twinbox-agent run`
// as their own processes, the phone being the API with a device token.
//
// Side by side in the same run, the floor: the same IMAP commands the agent
// sends for each request (EXAMINE, UID SORT with the same criteria, compiled
// by the same imapflow search compiler, the page's UID FETCHes; BINARY.PEEK
// for a part) issued directly by a minimal IMAP client of this process, on a
// connection of its own to the same Dovecot. The two are interleaved, in
// alternating order, so that neither profits alone from what the other put in
// Dovecot's or the kernel's caches.
//
// All of it while another account's 10,000-message initial sync runs through
// the same server (a second private Dovecot is that account's desktop; its
// `twinbox-agent sync` runs again for a new account whenever one finishes,
// so every measurement is taken while one runs; the counts say so).
//
//   search first page   POST /api/v1/desktop/query (limit 20, the web app's page) until the answer, --rounds searches of 10 kinds
//   open                GET /api/v1/desktop/emails/{id} of a result (each a different message, not cached)
//   attachment          GET …/emails/{id}/parts/{partId} of a 20 MB attachment: first byte and whole (--attachments of them)
//   agent peak RSS      the agent's VmHWM while streaming (reset before each attachment where the kernel allows)
//   phone bytes         what the server stores for an account whose window is 50 messages of 20 MB each: preview first
//                       (the default), then — the server restarted with reach.previewAboveBytes 0 — held whole, as before
//
// Options: --messages N (default 100000), --rounds R (searches and opens, default 20),
//          --attachments K (default 3), --attachment-mib M (default 20),
//          --load-messages L (default 10000), --window-messages B (the 50 × 20 MB window, default 50; 0 skips it).
// Written to bench-results/reach.json.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect as netConnect } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { ImapFlow } from 'imapflow';
import { searchCompiler } from 'imapflow/lib/search-compiler.js';
import compileImap from 'imapflow/lib/handler/imap-compiler.js';
import { AGENT_CLI, MiB, TwinboxSystem, defaultImapProfile, processMemory, startDovecot } from '@twinbox/testkit';

const { values } = parseArgs({
  options: {
    messages: { type: 'string' },
    rounds: { type: 'string' },
    attachments: { type: 'string' },
    'attachment-mib': { type: 'string' },
    'load-messages': { type: 'string' },
    'window-messages': { type: 'string' },
  },
});
const N = Number(values.messages ?? 100_000);
const ROUNDS = Number(values.rounds ?? 20);
const ATTACHMENTS = Number(values.attachments ?? 3);
const ATTACHMENT_BYTES = Number(values['attachment-mib'] ?? 20) * MiB;
const LOAD_N = Number(values['load-messages'] ?? 10_000);
const BIG_WINDOW = Number(values['window-messages'] ?? 50);
const PAGE = 20; // the web app's page (packages/sync-server/web/src/desktop-api.ts PAGE_SIZE)
const W = 50; // the phone window of the account under test
const PROFILE = defaultImapProfile();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const percentile = (xs, p) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
};
const stats = (xs) => (xs.length === 0 ? null : { n: xs.length, p50: Math.round(percentile(xs, 50)), p95: Math.round(percentile(xs, 95)), max: Math.round(Math.max(...xs)) });
const mib = (bytes) => Math.round((bytes / MiB) * 10) / 10;

// ---------------------------------------------------------------------------------------------
// The desktop mailbox: deterministic (a seeded PRNG), varied enough for searches of every kind.

function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const TOPICS = ['budget', 'invoice', 'meeting', 'travel', 'contract', 'report', 'release', 'hiring', 'security', 'lunch', 'roadmap', 'offsite', 'payroll', 'audit', 'launch', 'support', 'design', 'migration', 'forecast', 'renewal'];
const WORDS = ['alpha', 'bravo', 'copper', 'delta', 'ember', 'falcon', 'garnet', 'harbor', 'indigo', 'juniper', 'kestrel', 'lagoon', 'meadow', 'nickel', 'orchid', 'pepper', 'quartz', 'raven', 'saffron', 'timber', 'umber', 'velvet', 'willow', 'xenon', 'yarrow', 'zinnia'];
const SENDERS = Array.from({ length: 300 }, (_, k) => ({ name: `Person ${k}`, address: `person${k}@corp${k % 20}.example` }));
/** Words that occur rarely: every 997th message has RARE[0] in its body, every 1999th RARE[1], ... */
const RARE = [
  ['zephyr', 997],
  ['quokka', 1999],
  ['marzipan', 4999],
];

function corpusMessage(folder, i, date, rand, size = 2000) {
  const sender = SENDERS[Math.floor(rand() * SENDERS.length)];
  const topic = TOPICS[Math.floor(rand() * TOPICS.length)];
  const w1 = WORDS[Math.floor(rand() * WORDS.length)];
  const w2 = WORDS[Math.floor(rand() * WORDS.length)];
  const rare = RARE.filter(([, every]) => i % every === 7).map(([w]) => w);
  const sentence = `About the ${topic} with ${w1} and ${w2}${rare.length ? ` (${rare.join(' ')})` : ''}.`;
  const headers = [
    `From: ${sender.name} <${sender.address}>`,
    'To: user1@example.test',
    `Subject: ${topic} ${w1} ${folder}-${i}`,
    `Date: ${date.toUTCString()}`,
    `Message-ID: <${folder}.${i}.${Math.floor(rand() * 1e12).toString(36)}@bench.test>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
  ].join('\r\n');
  const filler = 'lorem ipsum dolor sit amet consectetur '.repeat(Math.ceil(size / 40)).slice(0, Math.max(0, size - headers.length - sentence.length)).replace(/(.{72})/g, '$1\r\n');
  return Buffer.from(`${headers}\r\n\r\n${sentence}\r\n${filler}\r\n`, 'utf8');
}

/** A message with a text part and one binary attachment of `attachment` (base64, lines of 76). */
function withAttachment(label, attachment, date) {
  const b64 = attachment.toString('base64').replace(/(.{76})/g, '$1\r\n');
  return Buffer.from(
    [
      'From: Colleague <colleague@example.test>',
      'To: user1@example.test',
      `Subject: ${label} the recording`,
      `Date: ${date.toUTCString()}`,
      `Message-ID: <${label}.${randomBytes(4).toString('hex')}@bench.test>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="bench-boundary"',
      '',
      '--bench-boundary',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Here is the recording (${label}).`,
      '--bench-boundary',
      `Content-Type: application/octet-stream; name="${label}.bin"`,
      `Content-Disposition: attachment; filename="${label}.bin"`,
      'Content-Transfer-Encoding: base64',
      '',
      b64,
      '--bench-boundary--',
      '',
    ].join('\r\n'),
  );
}

/** Fill a folder with `count` corpus messages, one a minute ending `endsAt`, in chunks (writeMaildir). */
function fillFolder(dovecot, folder, count, endsAt, seed, { seenEvery = 10, size = 2000 } = {}) {
  const rand = prng(seed);
  const CHUNK = 10_000;
  for (let from = 0; from < count; from += CHUNK) {
    const messages = [];
    for (let i = from; i < Math.min(count, from + CHUNK); i++) {
      const date = new Date(Math.floor((endsAt - (count - i) * 60_000) / 1000) * 1000);
      // 7 of 10 read, 1 in 50 flagged.
      messages.push({ raw: corpusMessage(folder, i, date, rand, size), date, seen: i % seenEvery < 7, flagged: i % 50 === 3 });
    }
    dovecot.writeMaildir('user1', folder, messages);
  }
}

// ---------------------------------------------------------------------------------------------
// The floor: a minimal IMAP client (one socket, literal-aware response reader, nothing else).

class RawImap {
  static connect(port) {
    return new Promise((resolve, reject) => {
      const socket = netConnect(port, '127.0.0.1');
      const client = new RawImap(socket);
      client.pending = { tag: '*', untagged: [], resolve, reject, greeting: true, client };
      socket.once('error', reject);
    });
  }

  constructor(socket) {
    this.socket = socket;
    this.buf = Buffer.alloc(0);
    this.current = [];
    this.literalLeft = 0;
    this.n = 0;
    this.selected = undefined;
    socket.on('data', (d) => this.onData(d));
    socket.on('error', (err) => this.pending?.reject(err));
  }

  onData(d) {
    if (this.pending && this.pending.firstByteAt === undefined) this.pending.firstByteAt = performance.now();
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    for (;;) {
      if (this.literalLeft > 0) {
        if (this.buf.length === 0) return;
        const take = Math.min(this.literalLeft, this.buf.length);
        this.current.push(this.buf.subarray(0, take));
        this.buf = this.buf.subarray(take);
        this.literalLeft -= take;
        continue;
      }
      const end = this.buf.indexOf('\r\n');
      if (end < 0) return;
      const line = this.buf.subarray(0, end + 2);
      this.buf = this.buf.subarray(end + 2);
      this.current.push(line);
      const literal = /\{(\d+)\+?\}\r\n$/.exec(line.toString('latin1', Math.max(0, line.length - 24)));
      if (literal) {
        this.literalLeft = Number(literal[1]);
        continue;
      }
      const response = this.current.length === 1 ? this.current[0] : Buffer.concat(this.current);
      this.current = [];
      this.onResponse(response);
    }
  }

  onResponse(response) {
    const p = this.pending;
    if (!p) return;
    if (p.greeting) {
      this.pending = undefined;
      return p.resolve(this);
    }
    const head = response.toString('latin1', 0, Math.min(response.length, 64));
    if (head.startsWith(`${p.tag} `)) {
      this.pending = undefined;
      if (!/^\S+ OK/.test(head)) return p.reject(new Error(`IMAP ${p.command.slice(0, 80)}: ${response.toString('latin1', 0, 300)}`));
      return p.resolve({ untagged: p.untagged, firstByteAt: p.firstByteAt, doneAt: performance.now() });
    }
    p.untagged.push(response);
  }

  /** One command (its text after the tag, or a compiled buffer without the tag); its untagged responses. */
  run(command) {
    const tag = `F${++this.n}`;
    const bytes = Buffer.isBuffer(command) ? Buffer.concat([Buffer.from(`${tag} `), command[0] === 0x20 ? command.subarray(1) : command, Buffer.from('\r\n')]) : Buffer.from(`${tag} ${command}\r\n`);
    return new Promise((resolve, reject) => {
      this.pending = { tag, command: bytes.toString('latin1', 0, 200), untagged: [], resolve, reject, sentAt: performance.now() };
      this.socket.write(bytes);
    });
  }

  async examine(folder) {
    if (this.selected === folder) return;
    await this.run(`EXAMINE ${quote(folder)}`);
    this.selected = folder;
  }

  close() {
    this.socket.destroy();
  }
}

const quote = (s) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
const uidSet = (uids) => uids.join(',');

/** The agent's criteria (reach/query.ts searchOf), compiled by the same imapflow compiler into the same bytes. */
function searchOf(filter) {
  const query = { deleted: false };
  for (const key of ['text', 'from', 'to', 'subject', 'body']) if (filter[key]) query[key] = filter[key];
  if (filter.after !== undefined) query.since = new Date(filter.after);
  if (filter.before !== undefined) query.before = new Date(filter.before);
  if (filter.unread !== undefined) query.seen = !filter.unread;
  if (filter.flagged !== undefined) query.flagged = filter.flagged;
  return query;
}
function sortCommand(capabilities, filter) {
  const criteria = searchCompiler({ capabilities, enabled: new Set() }, searchOf(filter));
  return compileImap({ command: 'UID SORT', attributes: [[{ type: 'ATOM', value: 'REVERSE' }, { type: 'ATOM', value: 'ARRIVAL' }], { type: 'ATOM', value: 'UTF-8' }, ...criteria] });
}
const sortUids = (untagged) => {
  const line = untagged.map((b) => b.toString('latin1')).find((l) => l.startsWith('* SORT'));
  return (line ?? '').slice(6).trim().split(/\s+/).filter(Boolean).map(Number);
};

/**
 * The floor for one search: what the agent's lane sends (reach/query.ts), from a connection with
 * INBOX selected (the lane's is: the watcher holds INBOX): LIST for an all-folder search, per folder
 * EXAMINE and UID SORT (REVERSE ARRIVAL), INTERNALDATE of each folder's newest hits to merge them,
 * then per folder of the page its summaries (FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)
 * and the previews (the first 2,048 bytes of part 1).
 */
async function directSearch(imap, capabilities, filter, folders) {
  const t0 = performance.now();
  const want = PAGE;
  let searched = folders;
  if (filter.inMailbox === undefined) {
    await imap.run('LIST "" "*"');
  } else searched = [filter.inMailbox];
  let hits = [];
  let total = 0;
  for (const folder of searched) {
    await imap.examine(folder);
    const uids = sortUids((await imap.run(sortCommand(capabilities, filter))).untagged);
    total += uids.length;
    const top = uids.slice(0, want);
    if (searched.length === 1) {
      hits = top.map((uid) => ({ folder, uid, date: 0 }));
      break;
    }
    if (top.length === 0) continue;
    const dates = new Map();
    for (const r of (await imap.run(`UID FETCH ${uidSet(top)} (UID INTERNALDATE)`)).untagged) {
      const m = /UID (\d+)/.exec(r.toString('latin1'));
      const d = /INTERNALDATE "([^"]+)"/.exec(r.toString('latin1'));
      if (m && d) dates.set(Number(m[1]), Date.parse(d[1]));
    }
    hits.push(...top.map((uid) => ({ folder, uid, date: dates.get(uid) ?? 0 })));
  }
  if (searched.length > 1) hits.sort((a, b) => b.date - a.date || b.uid - a.uid);
  const page = hits.slice(0, want);
  const byFolder = new Map();
  for (const h of page) byFolder.set(h.folder, [...(byFolder.get(h.folder) ?? []), h.uid]);
  for (const [folder, uids] of byFolder) {
    await imap.examine(folder);
    await imap.run(`UID FETCH ${uidSet(uids)} (UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE)`);
    await imap.run(`UID FETCH ${uidSet(uids)} (UID BODY.PEEK[1]<0.2048>)`);
  }
  return { ms: performance.now() - t0, total, count: page.length };
}

/** The floor for opening a message: its structure, header and text part (reach/message.ts). */
async function directOpen(imap, folder, uid) {
  const t0 = performance.now();
  await imap.examine(folder);
  await imap.run(`UID FETCH ${uid} (UID FLAGS INTERNALDATE RFC822.SIZE BODYSTRUCTURE BODY.PEEK[HEADER])`);
  await imap.run(`UID FETCH ${uid} (UID BODY.PEEK[1])`);
  return performance.now() - t0;
}

/** The floor for a part: BINARY.PEEK (RFC 3516) where offered, as the agent asks; first byte and whole. */
async function directPart(imap, binary, folder, uid, partId) {
  await imap.examine(folder);
  const t0 = performance.now();
  const r = await imap.run(`UID FETCH ${uid} (UID ${binary ? 'BINARY' : 'BODY'}.PEEK[${partId}])`);
  return { firstByteMs: r.firstByteAt - t0, totalMs: r.doneAt - t0, bytes: r.untagged.reduce((n, b) => n + b.length, 0) };
}

// ---------------------------------------------------------------------------------------------
// The phone.

/** A phone API request streamed: time to the answer's first body byte and to its end, the body's digest and length. */
function streamed(port, path, token) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const hash = createHash('sha256');
    let bytes = 0;
    let firstByteMs;
    const req = request({ host: '127.0.0.1', port, path, rejectUnauthorized: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.on('data', (chunk) => {
        firstByteMs ??= performance.now() - t0;
        bytes += chunk.length;
        hash.update(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode, firstByteMs, totalMs: performance.now() - t0, bytes, sha256: hash.digest('hex') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The folder and UID a phone's desktop message id names (base64url of JSON [folder, UIDVALIDITY, UID]: sync-server reach/email-id.ts). */
function refOf(id) {
  const [mailbox, , uid] = JSON.parse(Buffer.from(id, 'base64url').toString('utf8'));
  return { mailbox, uid };
}

// ---------------------------------------------------------------------------------------------
// The load: another account's initial sync of LOAD_N messages, again and again, through the same server.

class SyncLoad {
  constructor(system, dovecot) {
    this.system = system;
    this.dovecot = dovecot;
    this.runs = [];
    this.stopped = false;
    this.running = false;
    this.child = undefined;
  }

  start() {
    this.loop = this.run();
  }

  async run() {
    for (let k = 1; !this.stopped; k++) {
      const id = `load${k}`;
      const config = await this.system.pairAnotherAgent(await this.system.addAccount(id, LOAD_N), id);
      const agent = JSON.parse(readFileSync(config, 'utf8'));
      agent.imap.port = this.dovecot.imapPort;
      writeFileSync(config, JSON.stringify(agent, null, 2));
      if (this.stopped) return;
      const t0 = performance.now();
      const child = spawn(process.execPath, [AGENT_CLI, 'sync', '--config', config, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TWINBOX_LOG: 'warn', TWINBOX_PROGRESS_AFTER_MS: '0' } });
      this.child = child;
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => {
        out += d.toString();
        if (!this.running && out.includes('"progress"')) this.running = true;
      });
      child.stderr.on('data', (d) => (err += d.toString()));
      const code = await new Promise((r) => child.once('exit', (c, s) => r(c ?? s)));
      this.running = false;
      this.child = undefined;
      if (this.stopped && code !== 0) return;
      const summary = (() => {
        try {
          return JSON.parse(out.trim().split('\n').at(-1));
        } catch {
          return undefined;
        }
      })();
      if (code !== 0 || !summary) throw new Error(`the load's sync (${id}) failed (${code}): ${err.slice(-2000)}`);
      this.runs.push({ account: id, ms: Math.round(performance.now() - t0), pulled: summary.pulled ?? summary.tracked, durationMs: summary.durationMs });
      console.log(`  (load: ${id}'s initial sync of ${LOAD_N} messages done in ${Math.round(performance.now() - t0)} ms; the next starts)`);
    }
  }

  /** Wait until an initial sync of the load is under way (it has reported progress). */
  async underway() {
    for (let i = 0; !this.running; i++) {
      if (i > 1200) throw new Error('the load sync did not start within 60 s');
      await sleep(50);
    }
  }

  async stop() {
    this.stopped = true;
    this.child?.kill('SIGTERM');
    await this.loop?.catch((err) => console.log(`  (load stopped: ${err.message})`));
  }
}

/** Measure `fn` while the load runs: waits for a load sync under way, and says whether one still was at the end. */
async function underLoad(load, tally, fn) {
  await load.underway();
  const result = await fn();
  tally.total++;
  if (load.running) tally.underLoad++;
  return result;
}

// ---------------------------------------------------------------------------------------------
// The searches: ten kinds, two of each by default (R of them, cycling).

function searches(endsAt) {
  const day = 24 * 3600_000;
  const iso = (t) => new Date(t).toISOString();
  const kinds = [
    ['folder, newest first', { inMailbox: 'INBOX' }, { inMailbox: 'Archive' }],
    ['subject word, INBOX', { inMailbox: 'INBOX', subject: 'budget' }, { inMailbox: 'INBOX', subject: 'kestrel' }],
    ['from, INBOX', { inMailbox: 'INBOX', from: 'person17@corp17.example' }, { inMailbox: 'INBOX', from: 'person242@corp2.example' }],
    ['rare word, every folder', { text: 'zephyr' }, { text: 'quokka' }],
    ['unread, one folder', { inMailbox: 'INBOX', unread: true }, { inMailbox: 'Archive', unread: true }],
    ['flagged', { flagged: true }, { inMailbox: 'INBOX', flagged: true }],
    ['date range, INBOX', { inMailbox: 'INBOX', after: iso(endsAt - 14 * day), before: iso(endsAt - 7 * day) }, { inMailbox: 'INBOX', after: iso(endsAt - 30 * day), before: iso(endsAt - 29 * day) }],
    ['subject word, every folder', { subject: 'payroll' }, { subject: 'orchid' }],
    ['from and unread, every folder', { from: 'person99', unread: true }, { from: 'corp5.example', unread: true }],
    ['nothing matches', { text: 'xylophonist' }, { inMailbox: 'INBOX', subject: 'nonexistentword' }],
  ];
  const out = [];
  for (let i = 0; i < ROUNDS; i++) {
    const [kind, a, b] = kinds[i % kinds.length];
    out.push({ kind, filter: Math.floor(i / kinds.length) % 2 === 0 ? a : b });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

const results = {
  date: new Date().toISOString(),
  messages: N,
  rounds: ROUNDS,
  page: PAGE,
  loadMessages: LOAD_N,
  machine: { cores: (await import('node:os')).cpus().length, loadAverageAtStart: loadavg().map((x) => Math.round(x * 100) / 100) },
};
const tally = { total: 0, underLoad: 0 };
const endsAt = Math.floor(Date.now() / 60_000) * 60_000 - 60 * 60_000;
const folders = { Archive: Math.round(N / 10), Projects: Math.max(100, Math.round(N / 100)), [PROFILE.sent]: Math.max(100, Math.round(N / 100)), Trash: Math.max(50, Math.round(N / 200)) };

const system = await TwinboxSystem.start({ window: W });
let loadDovecot;
let load;
let direct;
let daemon;
const attachments = [];
try {
  // The desktop: INBOX of N, the folders, and Media with the 20 MB attachments (and a few small ones).
  let t = performance.now();
  fillFolder(system.dovecot, 'INBOX', N, endsAt, 1);
  for (const [folder, count] of Object.entries(folders)) {
    if (folder !== 'Trash' && folder !== PROFILE.sent) await system.desktop.createFolder(folder);
    fillFolder(system.dovecot, folder, count, endsAt - (N + 1000) * 60_000, folder.length * 7919);
  }
  await system.desktop.createFolder('Media');
  const media = [];
  for (let k = 0; k < ATTACHMENTS; k++) {
    const bytes = randomBytes(ATTACHMENT_BYTES);
    const label = `REC${k + 1}`;
    const date = new Date(endsAt - (3 * 24 * 60 - k) * 60_000);
    attachments.push({ label, size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
    media.push({ raw: withAttachment(label, bytes, date), date, seen: true });
  }
  system.dovecot.writeMaildir('user1', 'Media', media);
  results.fillMs = Math.round(performance.now() - t);

  // Dovecot indexes every folder once, and caches INBOX's arrival times, as the desktop's own mail client would have made it.
  t = performance.now();
  const indexer = new ImapFlow({ host: '127.0.0.1', port: system.dovecot.imapPort, secure: false, auth: { user: 'user1', pass: 'secret1' }, logger: false });
  await indexer.connect();
  const counts = {};
  for (const folder of ['INBOX', ...Object.keys(folders), 'Media']) {
    const box = await indexer.mailboxOpen(folder, { readOnly: true });
    counts[folder] = box.exists;
    for await (const _ of indexer.fetch('1:*', { uid: true, internalDate: true, flags: true })) void _;
  }
  await indexer.logout();
  results.indexMs = Math.round(performance.now() - t);
  results.desktop = counts;
  console.log(`desktop written in ${results.fillMs} ms, indexed in ${results.indexMs} ms: ${JSON.stringify(counts)} (${ATTACHMENTS} of ${mib(ATTACHMENT_BYTES)} MiB attachments in Media)`);

  // The other account's desktop: LOAD_N messages in a Dovecot of its own (10 KB each).
  loadDovecot = await startDovecot([{ name: 'user1', password: 'secret1' }], PROFILE);
  fillFolder(loadDovecot, 'INBOX', LOAD_N, endsAt, 99, { size: 10_000 });

  // The account under test: `twinbox-agent run`, its startup sync done, connected.
  const token = await system.addDevice();
  daemon = await system.startDaemon(['--schedule', 'off'], { TWINBOX_LOG: process.env.TWINBOX_LOG ?? 'warn' });
  await daemon.waitFor((e) => e.event === 'sync' && e.reason === 'startup', 300_000);
  for (let i = 0; !(await system.api('GET', '/api/v1/status', token)).json?.agentConnected; i++) {
    if (i > 200) throw new Error('the agent did not connect');
    await sleep(50);
  }
  const agentPid = daemon.child.pid;

  // The floor's connection.
  direct = await RawImap.connect(system.dovecot.imapPort);
  await direct.run('LOGIN "user1" "secret1"');
  const capabilities = new Map((await direct.run('CAPABILITY')).untagged.map((b) => b.toString('latin1')).find((l) => l.startsWith('* CAPABILITY')).trim().split(' ').slice(2).map((c) => [c.toUpperCase(), true]));
  const binary = capabilities.has('BINARY');
  const searchedFolders = ['INBOX', ...Object.keys(folders).filter((f) => f !== 'Trash'), 'Media', ...(capabilities.has('SPECIAL-USE') ? ['Drafts'] : [])];
  await direct.examine('INBOX');

  // A warm-up of both (not counted): the first request of each pays for connections and code loading.
  const warm = await system.api('GET', '/api/v1/desktop/mailboxes', token);
  if (warm.status !== 200) throw new Error(`GET /api/v1/desktop/mailboxes: ${warm.status} ${warm.raw.toString().slice(0, 300)}`);
  await direct.run('LIST "" "*"');

  load = new SyncLoad(system, loadDovecot);
  load.start();
  await load.underway();
  console.log(`\nthe load: another account's initial sync of ${LOAD_N} messages runs (again for a new account whenever one ends)`);

  // 1. Searches: the phone's first page, and the floor, interleaved in alternating order.
  const rows = [];
  for (const [i, { kind, filter }] of searches(endsAt).entries()) {
    const phone = async () => {
      const t0 = performance.now();
      const answer = await system.api('POST', '/api/v1/desktop/query', token, { filter, position: 0, limit: PAGE });
      const ms = performance.now() - t0;
      // A failed search (TIMEOUT, …) is kept: its time counts (the phone waited it), and the failures are listed.
      if (answer.status !== 200) return { ms, total: 0, items: [], failed: `${answer.status} ${answer.json?.error?.code ?? answer.raw.toString().slice(0, 100)}` };
      return { ms, total: answer.json.total, items: answer.json.items };
    };
    const floor = async () => {
      await direct.examine('INBOX');
      return directSearch(direct, capabilities, filter, searchedFolders);
    };
    let p;
    let d;
    await underLoad(load, tally, async () => {
      if (i % 2 === 0) {
        p = await phone();
        d = await floor();
      } else {
        d = await floor();
        p = await phone();
      }
    });
    if (p.failed) console.log(`  (search ${i + 1} FAILED on the phone: ${p.failed})`);
    else if (p.total !== d.total || p.items.length !== d.count) console.log(`  (search ${i + 1}: the phone found ${p.total} (${p.items.length} on the page), the direct client ${d.total} (${d.count}))`);
    rows.push({ kind, filter, phoneMs: Math.round(p.ms), directMs: Math.round(d.ms), total: p.total, directTotal: d.total, items: p.items, ...(p.failed ? { failed: p.failed } : {}) });
    console.log(`  search ${i + 1}/${ROUNDS} ${kind} ${JSON.stringify(filter)}: ${p.total} found; phone ${p.ms.toFixed(0)} ms, direct IMAP ${d.ms.toFixed(0)} ms`);
  }
  results.searches = rows.map((r) => ({ kind: r.kind, filter: r.filter, phoneMs: r.phoneMs, directMs: r.directMs, total: r.total, directTotal: r.directTotal, ...(r.failed ? { failed: r.failed } : {}) }));

  // 2. Opening results: each a different message (not in the server's cache), a result of each search in turn.
  const candidates = [];
  for (let depth = 0; candidates.length < ROUNDS && depth < PAGE; depth++) {
    for (const r of rows) if (r.items[depth] && !candidates.some((c) => c.id === r.items[depth].id) && candidates.length < ROUNDS) candidates.push(r.items[depth]);
  }
  const opens = [];
  for (const [i, item] of candidates.entries()) {
    const { uid } = refOf(item.id);
    let p;
    let d;
    let failed;
    await underLoad(load, tally, async () => {
      const phone = async () => {
        const t0 = performance.now();
        const answer = await system.api('GET', `/api/v1/desktop/emails/${encodeURIComponent(item.id)}`, token);
        if (answer.status !== 200) failed = `${answer.status} ${answer.json?.error?.code ?? answer.raw.toString().slice(0, 100)}`;
        return performance.now() - t0;
      };
      const floor = async () => {
        await direct.examine('INBOX');
        return directOpen(direct, item.mailboxId, uid);
      };
      if (i % 2 === 0) {
        p = await phone();
        d = await floor();
      } else {
        d = await floor();
        p = await phone();
      }
    });
    opens.push({ subject: item.subject, mailbox: item.mailboxId, size: item.size, phoneMs: Math.round(p), directMs: Math.round(d), ...(failed ? { failed } : {}) });
    if (failed) console.log(`  (open ${i + 1} FAILED on the phone: ${failed})`);
    console.log(`  open ${i + 1}/${candidates.length} ${item.mailboxId} "${item.subject}" (${item.size} bytes): phone ${p.toFixed(0)} ms, direct IMAP ${d.toFixed(0)} ms`);
  }
  results.opens = opens;

  // 3. The attachments: first byte and whole, streamed through the agent; the agent's peak RSS meanwhile.
  const found = await system.api('POST', '/api/v1/desktop/query', token, { filter: { inMailbox: 'Media' }, limit: PAGE });
  const parts = [];
  const canReset = (() => {
    try {
      writeFileSync(`/proc/${agentPid}/clear_refs`, '5');
      return true;
    } catch {
      return false;
    }
  })();
  const agentBaseline = processMemory(agentPid);
  results.agentRssBeforeAttachmentsMiB = mib(agentBaseline.rssBytes);
  results.agentPeakRssBeforeAttachmentsMiB = canReset ? undefined : mib(agentBaseline.peakRssBytes);
  for (const [k, a] of attachments.entries()) {
    const item = found.json.items.find((x) => x.subject.startsWith(`${a.label} `));
    const opened = await system.api('GET', `/api/v1/desktop/emails/${encodeURIComponent(item.id)}`, token);
    const part = opened.json.attachments.find((x) => x.name === `${a.label}.bin`);
    const { uid } = refOf(item.id);
    if (canReset) writeFileSync(`/proc/${agentPid}/clear_refs`, '5');
    const before = processMemory(agentPid);
    const serverBefore = processMemory(system.serverPid);
    let p;
    let d;
    await underLoad(load, tally, async () => {
      const phone = () => streamed(system.port, `/api/v1/desktop/emails/${encodeURIComponent(item.id)}/parts/${part.partId}`, token);
      const floor = async () => {
        await direct.examine('INBOX');
        return directPart(direct, binary, 'Media', uid, part.partId);
      };
      if (k % 2 === 0) {
        p = await phone();
        d = await floor();
      } else {
        d = await floor();
        p = await phone();
      }
    });
    const after = processMemory(agentPid);
    const serverAfter = processMemory(system.serverPid);
    if (p.status !== 200 || p.sha256 !== a.sha256) {
      console.log(`  attachment ${a.label} FAILED: status ${p.status}, ${p.bytes} bytes, not the attachment (${Math.round(p.totalMs)} ms)`);
      parts.push({ label: a.label, failed: `status ${p.status}, ${p.bytes} bytes`, phoneTotalMs: Math.round(p.totalMs) });
      continue;
    }
    parts.push({
      label: a.label,
      bytes: p.bytes,
      phoneFirstByteMs: Math.round(p.firstByteMs),
      phoneTotalMs: Math.round(p.totalMs),
      directFirstByteMs: Math.round(d.firstByteMs),
      directTotalMs: Math.round(d.totalMs),
      agentRssBeforeMiB: mib(before.rssBytes),
      agentPeakRssMiB: mib(after.peakRssBytes),
      serverPeakRssGrowthMiB: mib(serverAfter.peakRssBytes - serverBefore.rssBytes),
    });
    console.log(`  attachment ${a.label} (${mib(p.bytes)} MiB, bytes equal): phone first byte ${p.firstByteMs.toFixed(0)} ms, whole ${p.totalMs.toFixed(0)} ms; direct IMAP ${d.firstByteMs.toFixed(0)} / ${d.totalMs.toFixed(0)} ms; agent RSS ${mib(before.rssBytes)} MiB before, peak ${mib(after.peakRssBytes)} MiB${canReset ? '' : ' (peak since start: the kernel would not reset it)'}`);
  }
  results.attachments = parts;
  results.agentPeakRssResetPerAttachment = canReset;

  await load.stop();
  results.load = { runs: load.runs, measurementsUnderLoad: tally.underLoad, measurements: tally.total };
  loadDovecot.stop();
  loadDovecot = undefined;

  // 4. What the phone stores for an account whose window is BIG_WINDOW messages with a 20 MB attachment each.
  if (BIG_WINDOW > 0) {
    const bigDovecot = await startDovecot([{ name: 'user1', password: 'secret1' }], PROFILE);
    try {
      const body = randomBytes(ATTACHMENT_BYTES);
      let rawBytes = 0;
      for (let k = 0; k < BIG_WINDOW; k++) {
        const date = new Date(endsAt - (BIG_WINDOW - k) * 60_000);
        const raw = withAttachment(`BIG${k + 1}`, body, date);
        rawBytes += raw.length;
        bigDovecot.writeMaildir('user1', 'INBOX', [{ raw, date }]);
      }
      // The same window synced twice, into two accounts: as the server holds it by default (preview first above
      // reach.previewAboveBytes), and — the server restarted with the threshold at 0 — whole, as before it.
      const syncWindow = async (account) => {
        const pairing = await system.addAccount(account, BIG_WINDOW);
        const config = await system.pairAnotherAgent(pairing, account);
        const agent = JSON.parse(readFileSync(config, 'utf8'));
        agent.imap.port = bigDovecot.imapPort;
        writeFileSync(config, JSON.stringify(agent, null, 2));
        const stored = () => accountBytes(join(system.serverDir, 'twinbox.db'), account);
        const empty = stored();
        const t0 = performance.now();
        const run = await system.agentCli(['sync', '--config', config, '--json']);
        if (run.code !== 0) throw new Error(`the ${account} window's sync failed: ${run.stderr.slice(-2000)}`);
        return { empty: empty.total, after: stored(), syncMs: Math.round(performance.now() - t0) };
      };
      const previews = await syncWindow('big');
      if (daemon) await daemon.stop();
      daemon = undefined;
      system.editServerConfig((c) => (c.reach = { ...(c.reach ?? {}), previewAboveBytes: 0 }));
      await system.stopServer();
      await system.startServer();
      const whole = await syncWindow('whole');
      results.phoneBytesPerAccount = {
        before: whole.after.total,
        after: previews.after.total,
        previewFirst: previews.after.total < 0.9 * rawBytes,
        note: 'before: the window held whole (reach.previewAboveBytes 0, as before preview-first); after: the default threshold; the same 50 messages, two accounts, one run',
        windowMessages: BIG_WINDOW,
        windowRawBytes: rawBytes,
        emptyAccountBytes: previews.empty,
        byTable: { before: whole.after.byTable, after: previews.after.byTable },
        syncMs: { before: whole.syncMs, after: previews.syncMs },
      };
      console.log(`\nphone bytes for an account whose window is ${BIG_WINDOW} messages of ${mib(ATTACHMENT_BYTES)} MiB attachments (the messages: ${mib(rawBytes)} MiB): held whole ${mib(whole.after.total)} MiB (synced in ${(whole.syncMs / 1000).toFixed(1)} s), preview first ${(previews.after.total / 1024).toFixed(1)} KiB (synced in ${(previews.syncMs / 1000).toFixed(1)} s)`);
    } finally {
      await bigDovecot.stop();
    }
  }
} catch (err) {
  if (daemon) console.log(`the agent's log (last 4,000 characters):\n${daemon.stderr.slice(-4000)}`);
  console.log(`the server's log (last 4,000 characters):\n${system.serverLog.slice(-4000)}`);
  throw err;
} finally {
  await load?.stop();
  direct?.close();
  await loadDovecot?.stop();
  await system.stop();
}

/** Bytes the server holds for one account: every BLOB or TEXT column of every table with an account_id, summed. */
function accountBytes(file, account) {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const byTable = {};
    let total = 0;
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all().map((r) => r.name);
    for (const table of tables) {
      const columns = db.prepare(`PRAGMA table_info("${table}")`).all();
      if (!columns.some((c) => c.name === 'account_id')) continue;
      const sized = columns.filter((c) => c.type === '' || /BLOB|TEXT/i.test(c.type)).map((c) => `COALESCE(length(CAST("${c.name}" AS BLOB)), 0)`);
      if (sized.length === 0) continue;
      const bytes = db.prepare(`SELECT COALESCE(SUM(${sized.join(' + ')}), 0) AS n FROM "${table}" WHERE account_id = ?`).get(account).n;
      if (bytes > 0) byTable[table] = bytes;
      total += bytes;
    }
    return { total, byTable };
  } finally {
    db.close();
  }
}

// ---------------------------------------------------------------------------------------------
// The table.

const search = stats(results.searches.map((r) => r.phoneMs));
const floor = stats(results.searches.map((r) => r.directMs));
const open = stats(results.opens.map((r) => r.phoneMs));
const openFloor = stats(results.opens.map((r) => r.directMs));
const median = (xs) => percentile(xs, 50);
const att = results.attachments.filter((a) => !a.failed);
Object.assign(results, {
  searchFirstPageMs: { p50: search.p50, p95: search.p95 },
  directImapMs: { p50: floor.p50, p95: floor.p95 },
  searchGoalMs: { p50: Math.round(1.5 * floor.p50 + 300), p95: Math.round(1.5 * floor.p95 + 300) },
  openMs: { p50: open.p50, p95: open.p95 },
  directOpenMs: { p50: openFloor.p50, p95: openFloor.p95 },
  attachmentFirstByteMs: median(att.map((a) => a.phoneFirstByteMs)),
  attachmentTotalMs: median(att.map((a) => a.phoneTotalMs)),
  directAttachmentFirstByteMs: median(att.map((a) => a.directFirstByteMs)),
  directAttachmentTotalMs: median(att.map((a) => a.directTotalMs)),
  agentPeakRssMiB: Math.max(...att.map((a) => a.agentPeakRssMiB)),
  machine: { ...results.machine, loadAverageAtEnd: loadavg().map((x) => Math.round(x * 100) / 100) },
});
const perKind = {};
for (const r of results.searches) (perKind[r.kind] ??= []).push(r);
const ratio = (a, b) => (b > 0 ? (a / b).toFixed(2) : '–');
console.log(`\n${N} messages in INBOX (+ ${Object.values(folders).reduce((a, b) => a + b, 0)} in folders), page of ${PAGE}, ${ROUNDS} searches, while another account's ${LOAD_N}-message initial sync runs (${tally.underLoad} of ${tally.total} measurements entirely under it; ${results.load.runs.length} such syncs finished meanwhile):`);
console.log('  measure                                   | phone (Twinbox) | direct IMAP | ratio | goal');
console.log(`  search first page p50 / p95 (ms)          | ${search.p50} / ${search.p95} | ${floor.p50} / ${floor.p95} | ${ratio(search.p50, floor.p50)} / ${ratio(search.p95, floor.p95)} | ≤ 1.5× floor + 300 ms = ${results.searchGoalMs.p50} / ${results.searchGoalMs.p95}`);
console.log(`  open a result p50 / p95 (ms)              | ${open.p50} / ${open.p95} | ${openFloor.p50} / ${openFloor.p95} | ${ratio(open.p50, openFloor.p50)} / ${ratio(open.p95, openFloor.p95)} | ≤ 1,000`);
console.log(`  ${mib(ATTACHMENT_BYTES)} MiB attachment, first byte (ms, median) | ${results.attachmentFirstByteMs} | ${results.directAttachmentFirstByteMs} | ${ratio(results.attachmentFirstByteMs, results.directAttachmentFirstByteMs)} |`);
console.log(`  ${mib(ATTACHMENT_BYTES)} MiB attachment, whole (ms, median)      | ${results.attachmentTotalMs} | ${results.directAttachmentTotalMs} | ${ratio(results.attachmentTotalMs, results.directAttachmentTotalMs)} |`);
console.log(`  agent peak RSS while streaming (MiB)      | ${results.agentPeakRssMiB} (RSS before: ${results.agentRssBeforeAttachmentsMiB}) | | | bounded`);
if (results.phoneBytesPerAccount) {
  const b = results.phoneBytesPerAccount;
  console.log(`  phone bytes, window of ${BIG_WINDOW} × ${mib(ATTACHMENT_BYTES)} MiB        | before ${mib(b.before)} MiB, after ${(b.after / 1024).toFixed(1)} KiB | | | about the previews`);
}
console.log('  per kind of search (phone / direct, ms):');
for (const [kind, rs] of Object.entries(perKind)) console.log(`    ${kind}: ${rs.map((r) => `${r.phoneMs} / ${r.directMs} (${r.total} found)`).join('; ')}`);
const failures = [...results.searches, ...results.opens].filter((r) => r.failed);
results.failures = failures.length;
if (failures.length) console.log(`  FAILED on the phone (their times counted above): ${failures.map((r) => `${r.kind ?? r.subject}: ${r.failed}`).join('; ')}`);
// A failed request is never within a goal: its time is where the phone gave up (TIMEOUT), not an answer.
const searchFailed = results.searches.some((r) => r.failed);
const goals = {
  searchP50: search.p50 <= results.searchGoalMs.p50,
  searchP95: !searchFailed && search.p95 <= results.searchGoalMs.p95,
  openP95: !results.opens.some((r) => r.failed) && open.p95 <= 1000,
};
results.goalsMet = goals;
console.log(`  goals: search p50 ${goals.searchP50 ? 'met' : 'NOT met'}, p95 ${goals.searchP95 ? 'met' : `NOT met${searchFailed ? ' (searches failed)' : ''}`}; open p95 ≤ 1 s ${goals.openP95 ? 'met' : 'NOT met'}`);
console.log(`  (load average at start ${results.machine.loadAverageAtStart.join(' ')}, at end ${results.machine.loadAverageAtEnd.join(' ')}, ${results.machine.cores} cores)`);

mkdirSync('bench-results', { recursive: true });
const file = 'bench-results/reach.json';
const previous = (() => {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return {};
  }
})();
const byMailbox = { ...(previous.byMailbox ?? {}), [`${N}`]: results };
writeFileSync(file, `${JSON.stringify({ ...results, byMailbox }, null, 2)}\n`);
console.log(`wrote ${file}`);
