/**
 * The phone's HTTP API (JSON over the server's HTTPS port). Every request
 * carries a device token (`Authorization: Bearer tbd_…`, for programs) or the
 * web app's session cookie (device-auth.ts); either names exactly one account,
 * and every query is scoped to that account, so a device never sees or touches
 * another account's mail (a foreign message ID is simply NOT_FOUND).
 * Every change goes through PhoneMailbox, the same store operations the sync
 * uses, and so appends to the action list.
 *
 *   POST   /api/v1/session                      { code } → a device session cookie (the sign-in link's code; no token)
 *   DELETE /api/v1/session                      sign this browser out
 *   GET  /api/v1/status                         account, window, last sync, pending actions, quarantine, agent connected
 *   POST /api/v1/quarantine/{id}/retry          a change the desktop kept refusing, queued again
 *   GET  /api/v1/events                         live changes (server-sent events: event-stream.ts)
 *   GET  /api/v1/folders/{inbox|trash|sent|outbox}
 *   GET  /api/v1/messages/{id}                  headers, text, html, attachment list
 *   GET  /api/v1/messages/{id}/view[?images=1]  the body as a sanitized, sandboxed document (message-view.ts)
 *   GET  /api/v1/messages/{id}/attachments/{n}  the attachment's bytes
 *   POST /api/v1/messages/{id}/{read|unread|flag|unflag|trash|recover|destroy|retry}
 *   POST /api/v1/send                           { to, cc?, bcc?, subject, text, html?, attachments?, viaSync }
 *   POST /api/v1/sync-now                       ask the desktop for a sync now ({ via: "email" } forces the trigger e-mail)
 *   GET|POST|DELETE /api/v1/push…               Web Push: this browser's subscription and its settings (push-api.ts)
 *   GET|POST /api/v1/desktop/…                  the desktop mailbox beyond the window, through the agent (desktop-api.ts, docs/reach.md)
 *
 * A request naming an account or device (`X-Twinbox-Account`, `X-Twinbox-Device`:
 * the web app does) that its credentials do not belong to is refused with
 * 409 WRONG_ACCOUNT (device-auth.ts).
 *
 * A POST with an `Idempotency-Key` header is done once (the web app's offline
 * queue relies on it): the key is claimed before the work starts
 * (store/api-requests.ts), so of two requests with one key at once only one
 * runs; the other gets its answer, or 409 IN_PROGRESS while it runs. An
 * answer is kept a day; an error that changed nothing frees the key instead
 * (errors.ts, `remembered`), so the same request may be sent again.
 *
 * Errors: { "error": { "code", "message" } } with a stable code (errors.ts,
 * PHONE_ERRORS: one map of code → HTTP status). Every refusal is a PhoneError.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import type { Mailer } from '../mailer.js';
import type { SyncNowAnswer } from '../sync-now.js';
import { FailureLimiter, sourceKey, type LoginLimiter } from '../rate-limit.js';
import type { Account, Folder, PhoneMessage, ServerStore } from '../store/index.js';
import { compose, type ComposeRequest } from './compose.js';
import { CLEARED_SESSION_COOKIE, callerOf, forgeryRisk, sessionCookie, wrongAccount, type Caller } from './device-auth.js';
import type { EventStreams } from './event-stream.js';
import { sanitizeMailHtml, viewDocument, viewHeaders } from './message-view.js';
import { desktopRoute, type DesktopAccess } from './desktop-api.js';
import { heldPart } from './held-part.js';
import { PHONE_ERRORS, PhoneError } from './errors.js';
import { PhoneMailbox } from './phone-mailbox.js';
import { pushRoute } from './push-api.js';
import type { PushAccess } from '../push/service.js';
import { attachmentOf, renderMessage } from './render.js';
import { readBody } from './request-body.js';

export interface PhoneApiOptions {
  mailer?: Mailer;
  /** Is the account's agent connected (to any node)? */
  agentConnected(accountId: string): Promise<boolean>;
  /** Ask the desktop for a sync; resolves with the path the request took. */
  syncNow?(account: Account, via?: 'auto' | 'email'): Promise<SyncNowAnswer>;
  /** Largest request body (a send with attachments). */
  maxBodyBytes?: number;
  /** Failed device-token logins per source address. */
  limiter?: LoginLimiter;
  /** A request on this connection proved a device token (the connection gate lets it stay open). */
  onAuthenticated?(socket: Socket): void;
  /** The web app's live streams; without it /events is NOT_FOUND. */
  events?: EventStreams;
  /** Web Push (push/service.ts); without it the push routes say it is not available. */
  push?: PushAccess;
  /** The desktop beyond the window (docs/reach.md); without it /desktop/… is NOT_FOUND. */
  desktop?: DesktopAccess;
  /**
   * Several nodes (docs/scaling.md): pass a request that needs the agent to the node its link is on; resolves
   * false when that is this node or none (reach/forward.ts).
   */
  forward?(accountId: string, req: IncomingMessage, res: ServerResponse): Promise<boolean>;
}

/** Requests the account's agent may have to answer: the desktop beyond the window, and parts a preview left out. */
const needsAgent = (parts: string[]) => parts[0] === 'desktop' || (parts[0] === 'messages' && parts[2] === 'attachments');

const FOLDERS: readonly Folder[] = ['inbox', 'trash', 'sent', 'outbox'];
const MESSAGE_OPS = ['read', 'unread', 'flag', 'unflag', 'trash', 'recover', 'destroy', 'retry'] as const;

function summary(m: PhoneMessage) {
  return {
    id: m.id,
    folder: m.folder,
    date: new Date(m.date).toISOString(),
    from: m.from,
    subject: m.subject,
    preview: m.preview,
    seen: m.seen,
    flagged: m.flagged,
    size: m.size,
    ...(m.folder === 'outbox' ? { sendStatus: m.sendStatus, sendError: m.sendError, viaSync: m.sendVia === 'sync' } : {}),
  };
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': data.length, 'cache-control': 'no-store' }).end(data);
}

/** A path segment, %-decoded; a malformed escape is the caller's mistake, not an internal error. */
function decodePart(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new PhoneError('BAD_REQUEST', `the path segment ${JSON.stringify(part)} is not valid %-encoding`);
  }
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const body = await readBody(req, limit);
  try {
    return JSON.parse(body.toString('utf8') || '{}');
  } catch {
    throw new PhoneError('BAD_REQUEST', 'the body is not JSON');
  }
}

/** Read a request body to its end and keep nothing; past `limit` bytes stop (the answer then closes the connection). */
function discardBody(req: IncomingMessage, limit: number): Promise<void> {
  if (req.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    let size = 0;
    const done = () => {
      req.off('data', count);
      resolve();
    };
    const count = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) done();
    };
    req.on('data', count);
    req.once('end', done);
    req.once('error', done);
    req.once('close', done);
  });
}

function addressList(value: unknown, field: string, required: boolean): string[] | undefined {
  if (value === undefined && !required) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((a) => typeof a === 'string' && /^[^\s@<>]+@[^\s@<>]+$/.test(a))) {
    throw new PhoneError('BAD_REQUEST', `${field} must be one or more e-mail addresses`);
  }
  return list as string[];
}

function sendRequest(body: unknown): ComposeRequest & { viaSync: boolean } {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const text = (key: string, required: boolean) => {
    const v = b[key];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string') throw new PhoneError('BAD_REQUEST', `${key} must be a string`);
    return v;
  };
  const attachments = b.attachments;
  if (attachments !== undefined && (!Array.isArray(attachments) || !attachments.every((a) => typeof a?.filename === 'string' && typeof a?.contentBase64 === 'string'))) {
    throw new PhoneError('BAD_REQUEST', 'attachments must be a list of { filename, contentType?, contentBase64 }');
  }
  if (b.viaSync !== undefined && typeof b.viaSync !== 'boolean') throw new PhoneError('BAD_REQUEST', 'viaSync must be true or false');
  const cc = addressList(b.cc, 'cc', false);
  const bcc = addressList(b.bcc, 'bcc', false);
  const html = text('html', false);
  const inReplyTo = text('inReplyTo', false);
  const references = text('references', false);
  return {
    to: addressList(b.to, 'to', true)!,
    ...(cc ? { cc } : {}),
    ...(bcc ? { bcc } : {}),
    subject: text('subject', false) ?? '',
    text: text('text', false) ?? '',
    ...(html ? { html } : {}),
    ...(inReplyTo ? { inReplyTo } : {}),
    ...(references ? { references } : {}),
    ...(attachments ? { attachments: attachments as ComposeRequest['attachments'] } : {}),
    viaSync: (b.viaSync as boolean | undefined) ?? false,
  };
}

function idempotencyKey(req: IncomingMessage): string | undefined {
  const key = req.headers['idempotency-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !/^[A-Za-z0-9_-]{8,100}$/.test(key)) throw new PhoneError('BAD_REQUEST', 'Idempotency-Key must be 8 to 100 letters, digits, - or _');
  return key;
}

export function createPhoneApi(store: ServerStore, log: Logger, options: PhoneApiOptions) {
  const maxBody = options.maxBodyBytes ?? 30 * 1024 * 1024;
  const limiter = options.limiter ?? new FailureLimiter();

  /** The failures of a source slow only that source (issue 9.4); the holder of a right secret always gets in. */
  async function refuse(req: IncomingMessage, message: string): Promise<never> {
    const keys = [sourceKey(req.socket.remoteAddress ?? 'unknown')];
    if (!(await limiter.allowed(keys, Date.now()))) throw new PhoneError('RATE_LIMITED');
    await limiter.failed(keys, Date.now());
    throw new PhoneError('UNAUTHORIZED', message);
  }

  async function authenticate(req: IncomingMessage): Promise<Caller> {
    const caller = await callerOf(store, req);
    if (!caller) return refuse(req, PHONE_ERRORS.UNAUTHORIZED.text);
    if (forgeryRisk(caller, req)) throw new PhoneError('FORBIDDEN');
    const wrong = wrongAccount(caller, req);
    if (wrong) throw new PhoneError('WRONG_ACCOUNT', wrong);
    options.onAuthenticated?.(req.socket);
    await store.devices.seen(caller.device.id);
    return caller;
  }

  /** POST /api/v1/session: a sign-in link's code becomes this browser's device session. */
  async function signIn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readJson(req, 4096)) as { code?: unknown };
    const redeemed = typeof body.code === 'string' && body.code.length < 200 ? await store.devices.redeem(body.code) : undefined;
    if (!redeemed) return refuse(req, 'this sign-in link has been used or has expired; make a new one with `twinbox-server device link`');
    options.onAuthenticated?.(req.socket);
    log.info('device signed in', { account: redeemed.device.accountId, device: redeemed.device.id });
    res.setHeader('set-cookie', sessionCookie(redeemed.session));
    send(res, 200, { account: redeemed.device.accountId, device: { id: redeemed.device.id, name: redeemed.device.name } });
  }

  async function message(account: Account, id: string): Promise<PhoneMessage> {
    const found = /^\d{1,15}$/.test(id) ? await store.messages.get(account.id, Number(id)) : undefined;
    if (!found) throw new PhoneError('NOT_FOUND', `no message ${id}`);
    return found;
  }

  /** A found message's bytes; gone since it was found (destroyed meanwhile: another device, a sync), it is NOT_FOUND as if never found. */
  async function rawOf(account: Account, m: PhoneMessage): Promise<Buffer> {
    const raw = await store.messages.raw(account.id, m.id);
    if (!raw) throw new PhoneError('NOT_FOUND', `no message ${m.id}`);
    return raw;
  }

  /** What the desktop kept refusing (docs/quarantine.md), each with its message's subject while the phone holds it. */
  async function quarantined(account: Account) {
    const changes = [];
    // One at a time: a long list must not take every connection of the pool (PostgreSQL).
    for (const q of await store.quarantine.list(account.id)) {
      const subject = (await store.messages.get(account.id, q.phoneId))?.subject ?? null;
      changes.push({ id: q.id, phoneId: q.phoneId, kind: q.kind, subject, error: q.error, at: new Date(q.at).toISOString() });
    }
    return changes;
  }

  /** Answers a request, and keeps the answer under its Idempotency-Key first (when it has one). */
  type Reply = (status: number, body: unknown) => Promise<void>;

  async function route(req: IncomingMessage, res: ServerResponse, caller: Caller, method: string, parts: string[], reply: Reply): Promise<void> {
    const { account } = caller;
    const mailbox = new PhoneMailbox(store, account.id, options.mailer);
    const [first, id, op, index] = parts;
    if (method === 'GET' && first === 'status' && parts.length === 1) {
      const sync = await store.syncStates.get(account.id);
      return send(res, 200, {
        account: account.id,
        phoneAddress: account.phoneAddress,
        device: { id: caller.device.id, name: caller.device.name },
        window: account.window,
        inbox: await store.messages.count(account.id, 'inbox'),
        lastSync: sync.lastSyncAt ? { at: new Date(sync.lastSyncAt).toISOString(), number: sync.lastSyncNo, stats: sync.lastStats } : null,
        pendingActions: await store.actions.count(account.id),
        // One bad message stays one bad message (docs/quarantine.md): what the desktop kept refusing, and how
        // many desktop messages the agent set aside because the server could not take them.
        quarantine: {
          changes: await quarantined(account),
          desktopMessagesHeld: sync.lastStats?.quarantined ?? 0,
        },
        agentConnected: await options.agentConnected(account.id),
        directSend: options.mailer !== undefined,
      });
    }
    if (method === 'DELETE' && first === 'session' && parts.length === 1) {
      if (caller.session) await store.devices.endSession(caller.session);
      res.setHeader('set-cookie', CLEARED_SESSION_COOKIE);
      return send(res, 200, { signedOut: true });
    }
    if (method === 'GET' && first === 'events' && parts.length === 1 && options.events) return options.events.serve(req, res, caller);
    if (first === 'push') {
      const handled = await pushRoute({ store, push: options.push, caller, method, parts: parts.slice(1), body: () => readJson(req, 8192), reply });
      if (handled) return;
    }
    if (first === 'desktop' && options.desktop) {
      const handled = await desktopRoute({ store, access: options.desktop, account, method, parts: parts.slice(1), req, res, body: () => readJson(req, 64 * 1024), reply, send: (status, body) => send(res, status, body) });
      if (handled) return;
    }
    if (method === 'GET' && first === 'folders' && parts.length === 2) {
      if (!FOLDERS.includes(id as Folder)) throw new PhoneError('NOT_FOUND', `no folder ${id}; folders are ${FOLDERS.join(', ')}`);
      return send(res, 200, { folder: id, messages: (await store.messages.list(account.id, id as Folder, account.unreadFirst)).map(summary) });
    }
    if (first === 'messages' && id !== undefined) {
      const m = await message(account, id);
      if (method === 'GET' && parts.length === 2) {
        const rendered = await renderMessage(await rawOf(account, m), { log, heldParts: m.heldParts });
        const remoteContent = rendered.html !== null && sanitizeMailHtml(rendered.html, false).remoteContent;
        // `partial`: held as a preview (docs/reach.md): the attachments marked `onDesktop` come from the desktop when opened.
        return send(res, 200, { ...summary(m), ...rendered, remoteContent, ...(m.heldParts ? { partial: true } : {}) });
      }
      if (method === 'GET' && op === 'view' && parts.length === 3) {
        const showRemote = new URL(req.url ?? '', 'https://phone.invalid').searchParams.get('images') === '1';
        // Inline (cid:) images become data: URLs, the only images the view's policy lets through until "show images".
        const rendered = await renderMessage(await rawOf(account, m), { inlineImages: true, textOfHtml: false, log });
        const document = Buffer.from(viewDocument(rendered, showRemote));
        res.writeHead(200, viewHeaders(document, showRemote));
        return void res.end(document);
      }
      if (method === 'GET' && op === 'attachments' && parts.length === 4) {
        const attachment = /^\d+$/.test(index ?? '') ? await attachmentOf(await rawOf(account, m), Number(index), log, m.heldParts) : undefined;
        if (!attachment) throw new PhoneError('NOT_FOUND', `message ${m.id} has no attachment ${index}`);
        if ('held' in attachment) return heldPart(store, options.desktop, account, m, attachment.held.partId, res);
        const disposition = attachment.filename ? `attachment; filename*=UTF-8''${encodeURIComponent(attachment.filename)}` : 'attachment';
        res.writeHead(200, { 'content-type': attachment.contentType, 'content-length': attachment.content.length, 'content-disposition': disposition });
        return void res.end(attachment.content);
      }
      if (method === 'POST' && parts.length === 3 && (MESSAGE_OPS as readonly string[]).includes(op!)) {
        const ops: Record<(typeof MESSAGE_OPS)[number], () => Promise<void>> = {
          read: () => mailbox.markRead(m.id),
          unread: () => mailbox.markUnread(m.id),
          flag: () => mailbox.flag(m.id),
          unflag: () => mailbox.unflag(m.id),
          trash: () => mailbox.trash(m.id),
          recover: () => mailbox.recover(m.id),
          destroy: () => mailbox.destroy(m.id),
          retry: () => mailbox.retry(m.id),
        };
        await ops[op as (typeof MESSAGE_OPS)[number]]();
        const after = await store.messages.get(account.id, m.id);
        return reply(200, after ? summary(after) : { id: m.id, destroyed: true });
      }
    }
    if (method === 'POST' && first === 'quarantine' && op === 'retry' && parts.length === 3) {
      if (!/^\d{1,15}$/.test(id ?? '')) throw new PhoneError('NOT_FOUND', `nothing set aside with id ${id}`);
      await mailbox.retryQuarantined(Number(id));
      return reply(200, { retried: Number(id) });
    }
    if (method === 'POST' && first === 'send' && parts.length === 1) {
      const request = sendRequest(await readJson(req, maxBody));
      const { raw, envelope } = await compose(account.phoneAddress, request);
      const id = await mailbox.send({ raw, envelope, viaSync: request.viaSync });
      return reply(202, summary((await store.messages.get(account.id, id))!));
    }
    if (method === 'POST' && first === 'sync-now' && parts.length === 1) {
      if (!options.syncNow) throw new PhoneError('NOT_FOUND', 'sync now is not available on this server');
      const body = (await readJson(req, 4096)) as { via?: unknown };
      if (body.via !== undefined && body.via !== 'auto' && body.via !== 'email') throw new PhoneError('BAD_REQUEST', 'via must be "auto" or "email"');
      return reply(202, await options.syncNow(account, body.via ?? 'auto'));
    }
    throw new PhoneError(method === 'GET' || method === 'POST' ? 'NOT_FOUND' : 'METHOD_NOT_ALLOWED', `no route ${method} /api/v1/${parts.join('/')}`);
  }

  /**
   * Claim a POST's Idempotency-Key before its work starts: undefined when it
   * carries none; else the claim, or the answer to give instead of running.
   */
  async function claimKey(req: IncomingMessage, caller: Caller, method: string, path: string): Promise<{ key: string; stamp: number } | { answer: { status: number; body: unknown } } | undefined> {
    const key = method === 'POST' ? idempotencyKey(req) : undefined;
    if (key === undefined) return undefined;
    const claim = await store.apiRequests.claim(caller.account.id, key, `${method} ${path}`);
    switch (claim.kind) {
      case 'claimed':
        return { key, stamp: claim.stamp };
      case 'answered':
        return { answer: claim.answer };
      case 'running':
        throw new PhoneError('IN_PROGRESS', `a request with this Idempotency-Key has been running since ${new Date(claim.since).toISOString()}; send it again shortly for its answer`);
      case 'other-request':
        throw new PhoneError('BAD_REQUEST', `this Idempotency-Key was used for ${claim.request}; use a new key for each request`);
    }
  }

  /** Handles requests under /api/v1/; returns false for any other path. */
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'https://phone.invalid');
    if (!url.pathname.startsWith('/api/v1/')) return false;
    let claimed: { accountId: string; key: string; stamp: number } | undefined;
    try {
      const method = req.method ?? 'GET';
      const parts = url.pathname.slice('/api/v1/'.length).split('/').filter(Boolean).map(decodePart);
      if (method === 'POST' && parts.length === 1 && parts[0] === 'session') return (await signIn(req, res), true);
      const caller = await authenticate(req);
      // Before its Idempotency-Key is claimed here: the node that does the work claims it.
      if (options.forward && needsAgent(parts) && (await options.forward(caller.account.id, req, res))) return true;
      // An answer decided by the key alone (a replay, IN_PROGRESS) waits for the body to be in: a client still
      // sending 10 MB would otherwise find the connection closed under it (EPIPE) instead of the answer.
      let claim: Awaited<ReturnType<typeof claimKey>>;
      try {
        claim = await claimKey(req, caller, method, url.pathname);
      } catch (err) {
        await discardBody(req, maxBody);
        throw err;
      }
      if (claim && 'answer' in claim) {
        await discardBody(req, maxBody);
        return (send(res, claim.answer.status, claim.answer.body, { 'idempotent-replayed': 'true' }), true);
      }
      if (claim) claimed = { accountId: caller.account.id, ...claim };
      const reply: Reply = async (status, body) => {
        if (claimed) await store.apiRequests.finish(claimed.accountId, claimed.key, claimed.stamp, { status, body });
        claimed = undefined;
        send(res, status, body);
      };
      await route(req, res, caller, method, parts, reply);
    } catch (err) {
      const error = PhoneError.of(err);
      if (error.code === 'INTERNAL') log.error('phone API failed', { path: url.pathname, error: String(err) });
      const body = { error: { code: error.code, message: error.message } };
      // An answer that says the work was done (or cannot be undone) is kept for the key; any other error frees it.
      if (claimed) {
        if (error.remembered) await store.apiRequests.finish(claimed.accountId, claimed.key, claimed.stamp, { status: error.status, body });
        else await store.apiRequests.release(claimed.accountId, claimed.key, claimed.stamp);
        claimed = undefined;
      }
      if (!res.headersSent) send(res, error.status, body, error.code === 'IN_PROGRESS' ? { 'retry-after': '1' } : {});
      else res.destroy();
    } finally {
      // A route that answered without `reply` (it has no stored answer): its key is free again.
      if (claimed) await store.apiRequests.release(claimed.accountId, claimed.key, claimed.stamp);
    }
    return true;
  };
}
