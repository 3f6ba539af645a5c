/**
 * Validators for unknown input: a decoded JSON header becomes a typed message
 * or a TwinboxError (BAD_FRAME / UNKNOWN_TYPE), never an exception that escapes.
 * Input is parsed once, at the boundary; nothing past it checks shapes again.
 */
import { TwinboxError } from './errors.js';
import { isContentDigest, standInDigest } from './identity.js';
import { LIMITS } from './limits.js';
import {
  ACTION_RESULTS,
  AGENT_ACTION_KINDS,
  SERVER_ACTION_RESULTS,
  PHONE_CHANGES,
  type MessageIdentity,
  SERVER_ACTION_KINDS,
  type AgentAction,
  type ClientMessage,
  type PhoneListEntry,
  type PreviewOf,
  type ServerAction,
  type ServerMessage,
  type SyncStats,
} from './messages.js';
import { requestOf } from './request-validate.js';
import { REQUEST_ERRORS, REQUEST_LIMITS, type RequestErrorCode } from './requests.js';
import { Invalid, bool, fail, int, isTrue, list, obj, oneOf, optInt, str, type Obj } from './shape.js';

const REQUEST_ERROR_CODES = Object.keys(REQUEST_ERRORS) as RequestErrorCode[];

const phoneId = (v: unknown): number => int({ v }, 'v', 1);

function agentAction(value: unknown): AgentAction {
  const o = obj(value, 'action');
  const kind = oneOf(o, 'kind', AGENT_ACTION_KINDS);
  if (kind === 'insert') {
    const insert = { kind, date: int(o, 'date'), seen: bool(o, 'seen'), flagged: bool(o, 'flagged'), tiebreak: int(o, 'tiebreak') };
    if (o.previewOf !== undefined && o.standInFor !== undefined) fail('an insert is a preview or a stand-in, not both');
    if (o.previewOf !== undefined) return { ...insert, previewOf: previewOf(o.previewOf) };
    if (o.standInFor === undefined) return insert;
    const original = obj(o.standInFor, 'standInFor');
    const fingerprint = str(original, 'fingerprint');
    if (!/^(mid|midh|h1):/.test(fingerprint)) fail('standInFor.fingerprint must be a fingerprint (mid:, midh: or h1:)');
    return { ...insert, standInFor: { fingerprint, size: int(original, 'size', LIMITS.maxMessageBytes + 1) } };
  }
  return { kind, phoneId: int(o, 'phoneId', 1) };
}

/** A preview's whole message (messages.ts PreviewOf): its identity and the parts left out, each a section number once. */
function previewOf(value: unknown): PreviewOf {
  const o = obj(value, 'previewOf');
  const fingerprint = str(o, 'fingerprint');
  if (!/^(mid|midh|h1):/.test(fingerprint)) fail('previewOf.fingerprint must be a fingerprint (mid:, midh: or h1:)');
  const whole = digest(o);
  // The whole message's digest; for one larger than a frame (read by its structure, never whole) the stand-in's: its size.
  const size = int(o, 'size', 1, Number.MAX_SAFE_INTEGER);
  const wholeKnown = whole.startsWith('c2:') && size <= LIMITS.maxMessageBytes;
  if (!wholeKnown && !(size > LIMITS.maxMessageBytes && whole === standInDigest(size))) fail('previewOf.digest must be a c2: content digest, or standin:<size> above the frame limit');
  const omitted = list(o, 'omitted', (v) => {
    const part = obj(v, 'omitted part');
    const partId = str(part, 'partId');
    if (!/^[1-9]\d{0,3}(\.[1-9]\d{0,3}){0,15}$/.test(partId)) fail('omitted.partId must be an IMAP section number');
    return { partId, size: int(part, 'size', 0, LIMITS.maxMessageBytes * 2) };
  });
  if (omitted.length === 0 || omitted.length > 500) fail('previewOf.omitted must name 1 to 500 parts');
  if (new Set(omitted.map((p) => p.partId)).size !== omitted.length) fail('previewOf.omitted names a part twice');
  return { fingerprint, size, digest: whole, omitted };
}

function serverAction(value: unknown): ServerAction {
  const o = obj(value, 'action');
  const kind = oneOf(o, 'kind', SERVER_ACTION_KINDS);
  if (kind === 'insert') {
    return { kind, phoneId: int(o, 'phoneId', 1), date: int(o, 'date'), seen: bool(o, 'seen'), flagged: bool(o, 'flagged') };
  }
  if (kind === 'deliver') {
    const envelope = obj(o.envelope, 'envelope');
    const to = list(envelope, 'to', (v) => str({ v }, 'v'));
    if (to.length === 0) fail('envelope.to must name at least one recipient');
    return { kind, phoneId: int(o, 'phoneId', 1), envelope: { from: str(envelope, 'from'), to } };
  }
  if (kind === 'sent') return { kind, phoneId: int(o, 'phoneId', 1), date: int(o, 'date') };
  if (kind === 'destroy' && o.identity !== undefined) return { kind, phoneId: int(o, 'phoneId', 1), identity: messageIdentity(o.identity) };
  if (kind === 'expire') return { kind, phoneId: int(o, 'phoneId', 1), identity: messageIdentity(o.identity) };
  return { kind, phoneId: int(o, 'phoneId', 1) };
}

function digest(o: Obj): string {
  const value = str(o, 'digest');
  if (!isContentDigest(value)) fail('digest must be c2:<sha256> (or c1:), or standin:<size>');
  return value;
}

function messageIdentity(value: unknown): MessageIdentity {
  const o = obj(value, 'identity');
  return { folder: oneOf(o, 'folder', ['inbox', 'trash'] as const), fingerprint: str(o, 'fingerprint'), digest: digest(o) };
}

function phoneListEntry(value: unknown): PhoneListEntry {
  const o = obj(value, 'phone list entry');
  return {
    phoneId: int(o, 'phoneId', 1),
    folder: oneOf(o, 'folder', ['inbox', 'trash'] as const),
    fingerprint: str(o, 'fingerprint'),
    digest: digest(o),
    date: int(o, 'date'),
    seen: bool(o, 'seen'),
    flagged: bool(o, 'flagged'),
    changed: [...new Set(list(o, 'changed', (v) => oneOf({ v }, 'v', PHONE_CHANGES)))],
  };
}

function syncStats(value: unknown): SyncStats {
  const o = obj(value, 'stats');
  return {
    mode: oneOf(o, 'mode', ['initial', 'update'] as const),
    agentActions: int(o, 'agentActions'),
    serverActions: int(o, 'serverActions'),
    unmapped: int(o, 'unmapped'),
    pulled: int(o, 'pulled'),
    insertedOnDesktop: int(o, 'insertedOnDesktop'),
    ...(o.desktopInbox === undefined ? {} : { desktopInbox: int(o, 'desktopInbox') }),
    ...(o.quarantined === undefined ? {} : { quarantined: int(o, 'quarantined') }),
  };
}

const quietOf = (o: Obj) => ({ window: int(o, 'window', 1, LIMITS.maxWindow), unreadFirst: bool(o, 'unreadFirst') });

const optError = (o: Obj) => (o.error === undefined ? {} : { error: str(o, 'error') });

const CLIENT_PARSERS: { [K in ClientMessage['type']]: (o: Obj) => Extract<ClientMessage, { type: K }> } = {
  hello: (o) => ({
    type: 'hello',
    version: int(o, 'version'),
    accountId: str(o, 'accountId'),
    token: str(o, 'token'),
    agentId: str(o, 'agentId'),
    syncEpoch: o.syncEpoch === null ? null : str(o, 'syncEpoch'),
    lastSyncNo: int(o, 'lastSyncNo'),
    ackedThrough: int(o, 'ackedThrough'),
    ...(o.quiet === undefined ? {} : { quiet: quietOf(obj(o.quiet, 'quiet')) }),
    ...(o.swap === undefined ? {} : { swap: isTrue(o, 'swap') }),
  }),
  watch: (o) => ({
    type: 'watch',
    version: int(o, 'version'),
    accountId: str(o, 'accountId'),
    token: str(o, 'token'),
    agentId: str(o, 'agentId'),
    ...(o.requests === undefined ? {} : { requests: int(o, 'requests', 1) }),
  }),
  response: (o) => {
    if (o.error === undefined) return { type: 'response', id: int(o, 'id', 1) };
    const e = obj(o.error, 'error');
    return { type: 'response', id: int(o, 'id', 1), error: { code: oneOf(e, 'code', REQUEST_ERROR_CODES), message: str(e, 'message', 0) } };
  },
  chunk: (o) => ({ type: 'chunk', id: int(o, 'id', 1), seq: int(o, 'seq'), last: bool(o, 'last') }),
  beginInitial: (o) => ({ type: 'beginInitial', syncEpoch: str(o, 'syncEpoch') }),
  listPhone: (o) => ({ type: 'listPhone', after: int(o, 'after', 1) }),
  fetchPhone: (o) => ({ type: 'fetchPhone', phoneIds: list(o, 'phoneIds', phoneId) }),
  action: (o) => ({ type: 'action', seq: int(o, 'seq', 1), action: agentAction(o.action) }),
  swap: () => ({ type: 'swap' }),
  serverAck: (o) => {
    const desktopUid = optInt(o, 'desktopUid', 1);
    const error = o.error === undefined ? undefined : str(o, 'error');
    const result = oneOf(o, 'result', SERVER_ACTION_RESULTS);
    return { type: 'serverAck', seq: int(o, 'seq', 1), result, ...(desktopUid ? { desktopUid } : {}), ...(error ? { error } : {}) };
  },
  freeSlots: () => ({ type: 'freeSlots' }),
  order: (o) => ({
    type: 'order',
    entries: list(o, 'entries', (v) => {
      const e = obj(v, 'order entry');
      return { phoneId: int(e, 'phoneId', 1), tiebreak: int(e, 'tiebreak', 1), date: int(e, 'date') };
    }),
  }),
  complete: (o) => ({ type: 'complete', syncNo: int(o, 'syncNo', 1), stats: syncStats(o.stats) }),
};

const SERVER_PARSERS: { [K in ServerMessage['type']]: (o: Obj) => Extract<ServerMessage, { type: K }> } = {
  welcome: (o) => {
    const opts = obj(o.options, 'options');
    return {
      type: 'welcome',
      version: int(o, 'version'),
      mode: oneOf(o, 'mode', ['initial', 'update'] as const),
      lastSyncNo: int(o, 'lastSyncNo'),
      ...(o.completed === undefined ? {} : { completed: int(o, 'completed', 1) }),
      ...(o.swapping === undefined ? {} : { swapping: isTrue(o, 'swapping') }),
      options: {
        window: int(opts, 'window', 1, LIMITS.maxWindow),
        unreadFirst: bool(opts, 'unreadFirst'),
        conflictPolicy: oneOf(opts, 'conflictPolicy', ['desktop', 'phone'] as const),
        ...(opts.previewAboveBytes === undefined ? {} : { previewAboveBytes: int(opts, 'previewAboveBytes', 0) }),
      },
    };
  },
  watching: () => ({ type: 'watching' }),
  request: (o) => ({ type: 'request', id: int(o, 'id', 1), timeoutMs: int(o, 'timeoutMs', 1, REQUEST_LIMITS.maxTimeoutMs), ...requestOf(o) }),
  credit: (o) => ({ type: 'credit', id: int(o, 'id', 1), bytes: int(o, 'bytes', 1, REQUEST_LIMITS.initialCredit) }),
  cancel: (o) => ({ type: 'cancel', id: int(o, 'id', 1) }),
  syncRequest: (o) => ({ type: 'syncRequest', reason: oneOf(o, 'reason', ['phoneChange', 'syncNow'] as const) }),
  phoneList: (o) => ({ type: 'phoneList', messages: list(o, 'messages', phoneListEntry), next: o.next === null ? null : int(o, 'next', 1) }),
  phoneMessage: (o) => ({
    type: 'phoneMessage',
    phoneId: int(o, 'phoneId', 1),
    date: int(o, 'date'),
    seen: bool(o, 'seen'),
    flagged: bool(o, 'flagged'),
  }),
  phoneGone: (o) => ({ type: 'phoneGone', phoneId: int(o, 'phoneId', 1) }),
  ack: (o) => {
    const id = optInt(o, 'phoneId', 1);
    return { type: 'ack', seq: int(o, 'seq', 1), result: oneOf(o, 'result', ACTION_RESULTS), ...(id ? { phoneId: id } : {}), ...optError(o) };
  },
  serverAction: (o) => ({ type: 'serverAction', seq: int(o, 'seq', 1), action: serverAction(o.action) }),
  actionsEnd: (o) => ({ type: 'actionsEnd', count: int(o, 'count') }),
  freeSlotsResult: (o) => ({ type: 'freeSlotsResult', free: int(o, 'free') }),
  completed: (o) => ({ type: 'completed', syncNo: int(o, 'syncNo', 1) }),
  error: (o) => ({ type: 'error', code: str(o, 'code'), message: str(o, 'message', 0) }),
};

export type Parsed<M> = { ok: true; message: M } | { ok: false; error: TwinboxError };

function parseWith<M>(parsers: Record<string, (o: Obj) => M>, value: unknown): Parsed<M> {
  try {
    const o = obj(value, 'message');
    const type = o.type;
    if (typeof type !== 'string') fail('type must be a string');
    if (!Object.hasOwn(parsers, type)) {
      return { ok: false, error: new TwinboxError('UNKNOWN_TYPE', `unknown message type ${JSON.stringify(type.slice(0, 64))}`) };
    }
    return { ok: true, message: parsers[type]!(o) };
  } catch (err) {
    if (err instanceof Invalid) return { ok: false, error: new TwinboxError('BAD_FRAME', err.message) };
    return { ok: false, error: new TwinboxError('BAD_FRAME', 'invalid message', { cause: err }) };
  }
}

/** Validate a message an agent sent. */
export function parseClientMessage(value: unknown): Parsed<ClientMessage> {
  return parseWith<ClientMessage>(CLIENT_PARSERS, value);
}

/** Validate a message a server sent. */
export function parseServerMessage(value: unknown): Parsed<ServerMessage> {
  return parseWith<ServerMessage>(SERVER_PARSERS, value);
}
