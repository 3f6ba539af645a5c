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
 *   GET  /api/v1/status                         account, window, last sync, pending actions, agent connected
 *   GET  /api/v1/events                         live changes (server-sent events: event-stream.ts)
 *   GET  /api/v1/folders/{inbox|trash|sent|outbox}
 *   GET  /api/v1/messages/{id}                  headers, text, html, attachment list
 *   GET  /api/v1/messages/{id}/view[?images=1]  the body as a sanitized, sandboxed document (message-view.ts)
 *   GET  /api/v1/messages/{id}/attachments/{n}  the attachment's bytes
 *   POST /api/v1/messages/{id}/{read|unread|flag|unflag|trash|recover|destroy|retry}
 *   POST /api/v1/send                           { to, cc?, bcc?, subject, text, html?, attachments?, viaSync }
 *   POST /api/v1/sync-now                       ask the desktop for a sync now ({ via: "email" } forces the trigger e-mail)
 *
 * A POST with an `Idempotency-Key` header is done once: sent again with the
 * same key, it gets the first answer (the web app's offline queue relies on it).
 *
 * Errors: { "error": { "code", "message" } } with a stable code (see API_ERRORS).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import type { Mailer } from '../mailer.js';
import { FailureLimiter, sourceKey } from '../rate-limit.js';
import type { Account, Folder, PhoneMessage, ServerStore } from '../store/index.js';
import { compose, type ComposeRequest } from './compose.js';
import { CLEARED_SESSION_COOKIE, callerOf, forgeryRisk, sessionCookie, type Caller } from './device-auth.js';
import type { EventStreams } from './event-stream.js';
import { sanitizeMailHtml, viewDocument, viewPolicy } from './message-view.js';
import { PhoneError, PhoneMailbox } from './phone-mailbox.js';
import { attachmentOf, renderMessage } from './render.js';

export const API_ERRORS = {
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  BAD_REQUEST: 400,
  PAYLOAD_TOO_LARGE: 413,
  WRONG_FOLDER: 409,
  NO_RELAY: 409,
  SEND_FAILED: 502,
  INTERNAL: 500,
} as const;
export type ApiErrorCode = keyof typeof API_ERRORS;

class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export interface PhoneApiOptions {
  mailer?: Mailer;
  /** Is the account's desktop agent connected right now? */
  agentConnected(accountId: string): boolean;
  /** Ask the desktop for a sync; resolves with the path the request took. */
  syncNow?(account: Account, via?: 'auto' | 'email'): Promise<{ path: 'live' | 'email' }>;
  /** Largest request body (a send with attachments). */
  maxBodyBytes?: number;
  /** Failed device-token logins per source address. */
  limiter?: FailureLimiter;
  /** A request on this connection proved a device token (the connection gate lets it stay open). */
  onAuthenticated?(socket: Socket): void;
  /** The web app's live streams; without it /events is NOT_FOUND. */
  events?: EventStreams;
}

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

function send(res: ServerResponse, status: number, body: unknown): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': data.length, 'cache-control': 'no-store' }).end(data);
}

async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ApiError('PAYLOAD_TOO_LARGE', `request body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    throw new ApiError('BAD_REQUEST', 'the body is not JSON');
  }
}

function addressList(value: unknown, field: string, required: boolean): string[] | undefined {
  if (value === undefined && !required) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0 || !list.every((a) => typeof a === 'string' && /^[^\s@<>]+@[^\s@<>]+$/.test(a))) {
    throw new ApiError('BAD_REQUEST', `${field} must be one or more e-mail addresses`);
  }
  return list as string[];
}

function sendRequest(body: unknown): ComposeRequest & { viaSync: boolean } {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const text = (key: string, required: boolean) => {
    const v = b[key];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string') throw new ApiError('BAD_REQUEST', `${key} must be a string`);
    return v;
  };
  const attachments = b.attachments;
  if (attachments !== undefined && (!Array.isArray(attachments) || !attachments.every((a) => typeof a?.filename === 'string' && typeof a?.contentBase64 === 'string'))) {
    throw new ApiError('BAD_REQUEST', 'attachments must be a list of { filename, contentType?, contentBase64 }');
  }
  if (b.viaSync !== undefined && typeof b.viaSync !== 'boolean') throw new ApiError('BAD_REQUEST', 'viaSync must be true or false');
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
  if (typeof key !== 'string' || !/^[A-Za-z0-9_-]{8,100}$/.test(key)) throw new ApiError('BAD_REQUEST', 'Idempotency-Key must be 8 to 100 letters, digits, - or _');
  return key;
}

export function createPhoneApi(store: ServerStore, log: Logger, options: PhoneApiOptions) {
  const maxBody = options.maxBodyBytes ?? 30 * 1024 * 1024;
  const limiter = options.limiter ?? new FailureLimiter();

  /** The failures of a source slow only that source (issue 9.4); the holder of a right secret always gets in. */
  function refuse(req: IncomingMessage, code: ApiErrorCode, message: string): never {
    const keys = [sourceKey(req.socket.remoteAddress ?? 'unknown')];
    if (!limiter.allowed(keys, Date.now())) throw new ApiError('RATE_LIMITED', 'too many failed logins from your address; try again in a minute');
    limiter.failed(keys, Date.now());
    throw new ApiError(code, message);
  }

  function authenticate(req: IncomingMessage): Caller {
    const caller = callerOf(store, req);
    if (!caller) return refuse(req, 'UNAUTHORIZED', 'sign in again: a valid device session or token is required (Authorization: Bearer …)');
    if (forgeryRisk(caller, req)) throw new ApiError('FORBIDDEN', 'a request made with the session cookie must carry X-Twinbox-Request: 1');
    options.onAuthenticated?.(req.socket);
    store.devices.seen(caller.device.id);
    return caller;
  }

  /** POST /api/v1/session: a sign-in link's code becomes this browser's device session. */
  async function signIn(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readJson(req, 4096)) as { code?: unknown };
    const redeemed = typeof body.code === 'string' && body.code.length < 200 ? store.devices.redeem(body.code) : undefined;
    if (!redeemed) return refuse(req, 'UNAUTHORIZED', 'this sign-in link has been used or has expired; make a new one with `twinbox-server device link`');
    options.onAuthenticated?.(req.socket);
    log.info('device signed in', { account: redeemed.device.accountId, device: redeemed.device.id });
    res.setHeader('set-cookie', sessionCookie(redeemed.session));
    send(res, 200, { account: redeemed.device.accountId, device: { id: redeemed.device.id, name: redeemed.device.name } });
  }

  function message(account: Account, id: string): PhoneMessage {
    const found = /^\d{1,15}$/.test(id) ? store.messages.get(account.id, Number(id)) : undefined;
    if (!found) throw new ApiError('NOT_FOUND', `no message ${id}`);
    return found;
  }

  type Reply = (status: number, body: unknown) => void;

  async function route(req: IncomingMessage, res: ServerResponse, caller: Caller, method: string, parts: string[], reply: Reply): Promise<void> {
    const { account } = caller;
    const mailbox = new PhoneMailbox(store, account.id, options.mailer);
    const [first, id, op, index] = parts;
    if (method === 'GET' && first === 'status' && parts.length === 1) {
      const sync = store.syncStates.get(account.id);
      return send(res, 200, {
        account: account.id,
        phoneAddress: account.phoneAddress,
        device: { id: caller.device.id, name: caller.device.name },
        window: account.window,
        inbox: store.messages.count(account.id, 'inbox'),
        lastSync: sync.lastSyncAt ? { at: new Date(sync.lastSyncAt).toISOString(), number: sync.lastSyncNo, stats: sync.lastStats } : null,
        pendingActions: store.actions.count(account.id),
        agentConnected: options.agentConnected(account.id),
        directSend: options.mailer !== undefined,
      });
    }
    if (method === 'DELETE' && first === 'session' && parts.length === 1) {
      if (caller.session) store.devices.endSession(caller.session);
      res.setHeader('set-cookie', CLEARED_SESSION_COOKIE);
      return send(res, 200, { signedOut: true });
    }
    if (method === 'GET' && first === 'events' && parts.length === 1 && options.events) return options.events.serve(req, res, caller);
    if (method === 'GET' && first === 'folders' && parts.length === 2) {
      if (!FOLDERS.includes(id as Folder)) throw new ApiError('NOT_FOUND', `no folder ${id}; folders are ${FOLDERS.join(', ')}`);
      return send(res, 200, { folder: id, messages: store.messages.list(account.id, id as Folder, account.unreadFirst).map(summary) });
    }
    if (first === 'messages' && id !== undefined) {
      const m = message(account, id);
      if (method === 'GET' && parts.length === 2) {
        const rendered = await renderMessage(store.messages.raw(account.id, m.id)!, { log });
        const remoteContent = rendered.html !== null && sanitizeMailHtml(rendered.html, false).remoteContent;
        return send(res, 200, { ...summary(m), ...rendered, remoteContent });
      }
      if (method === 'GET' && op === 'view' && parts.length === 3) {
        const showRemote = new URL(req.url ?? '', 'https://phone.invalid').searchParams.get('images') === '1';
        // Inline (cid:) images become data: URLs, the only images the view's policy lets through until "show images".
        const rendered = await renderMessage(store.messages.raw(account.id, m.id)!, { inlineImages: true, textOfHtml: false, log });
        const document = Buffer.from(viewDocument(rendered, showRemote));
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'content-length': document.length,
          'content-security-policy': viewPolicy(showRemote),
          'x-frame-options': 'SAMEORIGIN',
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          'cache-control': 'private, no-cache',
        });
        return void res.end(document);
      }
      if (method === 'GET' && op === 'attachments' && parts.length === 4) {
        const attachment = /^\d+$/.test(index ?? '') ? await attachmentOf(store.messages.raw(account.id, m.id)!, Number(index), log) : undefined;
        if (!attachment) throw new ApiError('NOT_FOUND', `message ${m.id} has no attachment ${index}`);
        const disposition = attachment.filename ? `attachment; filename*=UTF-8''${encodeURIComponent(attachment.filename)}` : 'attachment';
        res.writeHead(200, { 'content-type': attachment.contentType, 'content-length': attachment.content.length, 'content-disposition': disposition });
        return void res.end(attachment.content);
      }
      if (method === 'POST' && parts.length === 3 && (MESSAGE_OPS as readonly string[]).includes(op!)) {
        const ops: Record<(typeof MESSAGE_OPS)[number], () => void | Promise<void>> = {
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
        const after = store.messages.get(account.id, m.id);
        return reply(200, after ? summary(after) : { id: m.id, destroyed: true });
      }
    }
    if (method === 'POST' && first === 'send' && parts.length === 1) {
      const request = sendRequest(await readJson(req, maxBody));
      const { raw, envelope } = await compose(account.phoneAddress, request);
      const id = await mailbox.send({ raw, envelope, viaSync: request.viaSync });
      return reply(202, summary(store.messages.get(account.id, id)!));
    }
    if (method === 'POST' && first === 'sync-now' && parts.length === 1) {
      if (!options.syncNow) throw new ApiError('NOT_FOUND', 'sync now is not available on this server');
      const body = (await readJson(req, 4096)) as { via?: unknown };
      if (body.via !== undefined && body.via !== 'auto' && body.via !== 'email') throw new ApiError('BAD_REQUEST', 'via must be "auto" or "email"');
      return reply(202, await options.syncNow(account, body.via ?? 'auto'));
    }
    throw new ApiError(method === 'GET' || method === 'POST' ? 'NOT_FOUND' : 'METHOD_NOT_ALLOWED', `no route ${method} /api/v1/${parts.join('/')}`);
  }

  /** Handles requests under /api/v1/; returns false for any other path. */
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'https://phone.invalid');
    if (!url.pathname.startsWith('/api/v1/')) return false;
    try {
      const method = req.method ?? 'GET';
      const parts = url.pathname.slice('/api/v1/'.length).split('/').filter(Boolean).map(decodeURIComponent);
      if (method === 'POST' && parts.length === 1 && parts[0] === 'session') return (await signIn(req, res), true);
      const caller = authenticate(req);
      const key = method === 'POST' ? idempotencyKey(req) : undefined;
      const earlier = key ? store.apiRequests.get(caller.account.id, key) : undefined;
      if (earlier) return (send(res, earlier.status, earlier.body), true);
      const reply: Reply = (status, body) => {
        if (key) store.apiRequests.put(caller.account.id, key, { status, body });
        send(res, status, body);
      };
      await route(req, res, caller, method, parts, reply);
    } catch (err) {
      const coded = (err as { code?: unknown }).code;
      const [code, message] =
        err instanceof ApiError || err instanceof PhoneError || (typeof coded === 'string' && Object.hasOwn(API_ERRORS, coded))
          ? [(err as { code: string }).code, (err as Error).message]
          : (['INTERNAL', 'internal error'] as const);
      if (code === 'INTERNAL') log.error('phone API failed', { path: url.pathname, error: String(err) });
      if (!res.headersSent) send(res, API_ERRORS[code as ApiErrorCode] ?? 500, { error: { code, message } });
      else res.destroy();
    }
    return true;
  };
}
