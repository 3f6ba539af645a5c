/**
 * The phone's reach beyond its window (docs/reach.md), under /api/v1/desktop/:
 * each request is the caller's account's, asked of that account's connected
 * agent over its request lane (reach/agent-requests.ts) — a device of another
 * account has no way to name this account's agent, and a message id names
 * only a folder and UID, asked of the caller's own desktop.
 *
 *   GET  desktop/mailboxes                    the desktop's folders (Mailbox/get)
 *   POST desktop/query                        { filter, position?, limit? } (Email/query), newest first
 *   GET  desktop/emails/{id}                  one message (Email/get)
 *   GET  desktop/emails/{id}/view[?images=1]  its HTML, sanitized, as for window messages
 *   GET  desktop/emails/{id}/parts/{partId}   a part's bytes, streamed
 *   POST desktop/emails/{id}/{read|unread|flag|unflag|trash|move}   (Email/set; move: { mailboxId })
 *
 * No agent connected: DESKTOP_OFFLINE at once — except a message or part the
 * cache holds (store/reach-cache.ts), served from there. The phone going away
 * (its request closed) cancels the request at the agent.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import type { Readable } from 'node:stream';
import { Invalid, LATEST_SEARCH_DATE_MS, REQUEST_LIMITS, queryFilter, type MessageRef, type MessageResult, type PartResult, type QueryFilter } from '@twinbox/protocol';
import type { AgentRequests } from '../reach/agent-requests.js';
import { emailIdOf, refOfEmailId } from '../reach/email-id.js';
import { bodiesOf, emailView, querySummary } from '../reach/email-view.js';
import type { Account, ServerStore } from '../store/index.js';
import type { PartWriter } from '../store/reach-cache.js';
import { MAIL_LIMITS } from '../mail/limits.js';
import { PhoneError } from './errors.js';
import { viewDocument, viewHeaders } from './message-view.js';

export interface DesktopAccess {
  /** The account's agent's request lane: undefined when none is connected, `outdated` for an agent without one. */
  requests(accountId: string): AgentRequests | 'outdated' | undefined;
  timeoutMs: number;
  /** reach.cacheBytesPerAccount (0: nothing is kept). */
  cacheBytes: number;
}

interface Route {
  store: ServerStore;
  access: DesktopAccess;
  account: Account;
  method: string;
  parts: string[];
  req: IncomingMessage;
  res: ServerResponse;
  body(): Promise<unknown>;
  /** An answer remembered under the request's Idempotency-Key (api.ts). */
  reply(status: number, body: unknown): Promise<void>;
  send(status: number, body: unknown): void;
}

const FLAG_OPS = { read: { seen: true }, unread: { seen: false }, flag: { flagged: true }, unflag: { flagged: false } } as const;

/** INBOX is one folder however a phone spells it (RFC 3501 §5.1): one cache entry, not one per spelling. */
const canonical = (ref: MessageRef): MessageRef => (ref.mailbox.toUpperCase() === 'INBOX' ? { ...ref, mailbox: 'INBOX' } : ref);
const messageKey = (ref: MessageRef) => `m:${emailIdOf(canonical(ref))}`;
const partKey = (ref: MessageRef, partId: string) => `p:${emailIdOf(canonical(ref))}:${partId}`;

/** Email/query's request body, checked as hostile input (lengths and types: protocol request-validate.ts). */
export function queryRequest(body: unknown): { filter: QueryFilter; position: number; limit: number } {
  const b = (typeof body === 'object' && body !== null && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
  const raw = (typeof b.filter === 'object' && b.filter !== null && !Array.isArray(b.filter) ? { ...b.filter } : b.filter === undefined ? {} : undefined) as Record<string, unknown> | undefined;
  if (!raw) throw new PhoneError('BAD_REQUEST', 'filter must be an object');
  for (const key of ['after', 'before']) {
    if (raw[key] === undefined) continue;
    const ms = typeof raw[key] === 'string' ? Date.parse(raw[key]) : NaN;
    if (!Number.isFinite(ms) || ms < 0 || ms > LATEST_SEARCH_DATE_MS) throw new PhoneError('BAD_REQUEST', `filter.${key} must be an ISO 8601 date from 1970 to 9999`);
    raw[key] = ms;
  }
  const unknown = Object.keys(raw).filter((k) => !['inMailbox', 'text', 'from', 'to', 'subject', 'body', 'after', 'before', 'unread', 'flagged'].includes(k));
  if (unknown.length > 0) throw new PhoneError('BAD_REQUEST', `filter has no condition ${JSON.stringify(unknown[0]!.slice(0, 40))}`);
  const int = (v: unknown, fallback: number, min: number, max: number, what: string) => {
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw new PhoneError('BAD_REQUEST', `${what} must be a whole number from ${min} to ${max}`);
    return v;
  };
  try {
    return { filter: queryFilter(raw), position: int(b.position, 0, 0, 1_000_000, 'position'), limit: int(b.limit, 20, 1, REQUEST_LIMITS.maxPageSize, 'limit') };
  } catch (err) {
    if (err instanceof Invalid) throw new PhoneError('BAD_REQUEST', `filter: ${err.message}`);
    throw err;
  }
}

export async function desktopRoute(r: Route): Promise<boolean> {
  const { store, access, account, method, parts, req, res } = r;
  const cache = store.reachCache;
  // The phone going away stops the request at the agent.
  const gone = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) gone.abort();
  });
  const ask = { timeoutMs: access.timeoutMs, signal: gone.signal };
  const lane = (): AgentRequests => {
    const found = access.requests(account.id);
    if (found === undefined) throw new PhoneError('DESKTOP_OFFLINE');
    if (found === 'outdated') throw new PhoneError('DESKTOP_OUTDATED');
    return found;
  };
  const [first, id, op, partId] = parts;

  if (method === 'GET' && first === 'mailboxes' && parts.length === 1) {
    r.send(200, await lane().ask('mailboxes', {}, ask));
    return true;
  }
  if (method === 'POST' && first === 'query' && parts.length === 1) {
    r.send(200, querySummary(await lane().ask('query', queryRequest(await r.body()), ask)));
    return true;
  }
  if (first !== 'emails' || id === undefined) return false;
  const ref = refOfEmailId(id);

  /** The message: fresh from the desktop (its text from the cache when held), or all from the cache when the desktop is away. */
  const messageOf = async (): Promise<MessageResult> => {
    const cached = (await cache.get<MessageResult>(account.id, messageKey(ref)))?.meta;
    const online = typeof access.requests(account.id) === 'object';
    if (cached && !online) return cached;
    try {
      if (cached) return { ...(await lane().ask('message', { ref, maxBodyValueBytes: 0 }, ask)), bodyValues: cached.bodyValues };
      const fresh = await lane().ask('message', { ref, maxBodyValueBytes: MAIL_LIMITS.viewTextPartBytes }, ask);
      if (access.cacheBytes > 0) await cache.put(account.id, messageKey(ref), fresh, access.cacheBytes);
      return fresh;
    } catch (err) {
      if (err instanceof PhoneError && err.code === 'NOT_FOUND') await cache.remove(account.id, messageKey(ref));
      throw err;
    }
  };

  if (method === 'GET' && parts.length === 2) {
    r.send(200, emailView(await messageOf()));
    return true;
  }
  if (method === 'GET' && op === 'view' && parts.length === 3) {
    const showRemote = new URL(req.url ?? '', 'https://phone.invalid').searchParams.get('images') === '1';
    const document = Buffer.from(viewDocument(bodiesOf(await messageOf()), showRemote));
    res.writeHead(200, viewHeaders(document, showRemote));
    res.end(document);
    return true;
  }
  if (method === 'GET' && op === 'parts' && partId !== undefined && parts.length === 4) {
    await sendPart(r, ref, partId, gone.signal);
    return true;
  }
  if (method === 'POST' && parts.length === 3 && op !== undefined && Object.hasOwn(FLAG_OPS, op)) {
    await lane().ask('flags', { ref, flags: FLAG_OPS[op as keyof typeof FLAG_OPS] }, ask);
    await r.reply(200, { id });
    return true;
  }
  if (method === 'POST' && parts.length === 3 && (op === 'trash' || op === 'move')) {
    let to: string;
    if (op === 'move') {
      const body = (await r.body()) as { mailboxId?: unknown };
      if (typeof body.mailboxId !== 'string' || body.mailboxId.length === 0 || body.mailboxId.length > REQUEST_LIMITS.maxMailboxChars) {
        throw new PhoneError('BAD_REQUEST', 'move takes { mailboxId }: the folder to move the message to');
      }
      to = body.mailboxId;
    } else {
      const trash = (await lane().ask('mailboxes', {}, ask)).mailboxes.find((m) => m.role === 'trash');
      if (!trash) throw new PhoneError('DESKTOP_REFUSED', 'the desktop has no Trash folder');
      to = trash.id;
    }
    const moved = await lane().ask('move', { ref, to }, ask);
    await cache.remove(account.id, messageKey(ref));
    await r.reply(200, { id: moved.ref ? emailIdOf(moved.ref) : null });
    return true;
  }
  return false;
}

/** Headers of a part's download: always a download (never shown in the app's origin: it is the mail's content). */
function partHeaders(meta: PartResult): Record<string, string> {
  const type = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/i.test(meta.type) ? meta.type : 'application/octet-stream';
  return {
    'content-type': type,
    // The name is the sender's: a lone UTF-16 surrogate in it would make encodeURIComponent throw (as U+FFFD instead).
    'content-disposition': meta.name ? `attachment; filename*=UTF-8''${encodeURIComponent(Buffer.from(meta.name, 'utf8').toString('utf8'))}` : 'attachment',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'none'; sandbox",
    'cache-control': 'private, no-cache',
  };
}

/**
 * Write a chunk, waiting while the phone's connection is full. A phone that goes away meanwhile emits neither
 * 'drain' nor 'error', only 'close': that ends the wait too, as a failure (the caller drops what it kept).
 */
async function write(res: ServerResponse, chunk: Buffer): Promise<void> {
  if (res.destroyed) throw new Error('the phone went away');
  if (res.write(chunk)) return;
  const gone = new AbortController();
  await Promise.race([once(res, 'drain', { signal: gone.signal }), once(res, 'close', { signal: gone.signal })]).finally(() => gone.abort());
  if (res.destroyed && !res.writableFinished) throw new Error('the phone went away');
}

/** A part: from the cache when held (even with the desktop away), else streamed from the agent and kept as it passes. */
async function sendPart(r: Route, ref: MessageRef, partId: string, signal: AbortSignal): Promise<void> {
  const { store, access, account, res } = r;
  await servePart({ store, access, accountId: account.id, res, key: partKey(ref, partId), signal }, (lane) => {
    if (!/^[1-9]\d{0,3}(\.[1-9]\d{0,3}){0,15}$/.test(partId)) throw new PhoneError('NOT_FOUND', `no part ${JSON.stringify(partId.slice(0, 40))}`);
    return lane.openPart({ ref, partId }, { timeoutMs: access.timeoutMs, signal });
  });
}

export interface PartServing {
  store: ServerStore;
  access: DesktopAccess;
  accountId: string;
  res: ServerResponse;
  /** The part's key in the reach cache (reach-cache.ts). */
  key: string;
  signal: AbortSignal;
}

/**
 * A part from the cache when held (even with the desktop away), else opened on the agent's lane by `open`
 * and streamed to the phone, kept in the cache as it passes (under its cap). Used for desktop messages beyond
 * the window and for the parts a window message's preview left out (docs/reach.md).
 */
export async function servePart(p: PartServing, open: (lane: AgentRequests) => Promise<{ meta: PartResult; body: Readable }>): Promise<void> {
  const { store, access, accountId, res, key, signal } = p;
  const cached = await store.reachCache.get<PartResult>(accountId, key);
  if (cached) {
    res.writeHead(200, { ...partHeaders(cached.meta), 'content-length': String(cached.bytes) });
    for await (const chunk of store.reachCache.chunks(accountId, key)) {
      if (signal.aborted) return;
      await write(res, chunk);
    }
    res.end();
    return;
  }
  const found = access.requests(accountId);
  if (found === undefined) throw new PhoneError('DESKTOP_OFFLINE');
  if (found === 'outdated') throw new PhoneError('DESKTOP_OUTDATED');
  const { meta, body } = await open(found);
  let writer: PartWriter | undefined;
  let whole = false;
  try {
    const headers = partHeaders(meta);
    writer = access.cacheBytes > 0 ? await store.reachCache.begin(accountId, key, meta, meta.size, access.cacheBytes) : undefined;
    res.writeHead(200, headers);
    for await (const chunk of body as AsyncIterable<Buffer>) {
      await writer?.write(chunk);
      await write(res, chunk);
    }
    await writer?.finish();
    whole = true;
    res.end();
  } catch (err) {
    // Before the headers, the phone gets the error; after them, the download just breaks off.
    if (!res.headersSent) throw err;
  } finally {
    if (!whole) {
      // The download broke off (the phone went away, the agent failed): nothing more read, nothing of it kept
      // (the agent and the phone are let go first: they need not wait for the store).
      body.destroy();
      if (res.headersSent) res.destroy();
      await writer?.abandon();
    }
  }
}
