/**
 * Every message of a sync session, as a discriminated union on `type`.
 *
 * A session (docs/spec.md §4) from the agent's side:
 *
 *   hello ──► welcome{mode}            (hello{quiet} ──► welcome{completed}: a quiet sync, one round trip)
 *   mode=initial: beginInitial ──► phoneList{next} ; listPhone{after} ──► phoneList … (pages until next=null)
 *                 fetchPhone ──► phoneMessage|phoneGone … ; action* ──► ack* ;
 *                 swap ──► serverAction* (outgoing mail and phone destroys kept across the re-pairing) … actionsEnd
 *   mode=update:  action* ──► ack* ; swap ──► serverAction* … actionsEnd (each action ◄── serverAck, all before the next request)
 *                 (hello{swap}, nothing to push ──► welcome{swapping} serverAction* … actionsEnd: the swap rides on the hello)
 *   both:         action{unmap}* ──► ack*  (normalization)
 *                 freeSlots ──► freeSlotsResult ; action{insert}* ──► ack{phoneId}*  (pull)
 *                 order (the window's desktop arrival times and UIDs: the phone shows the desktop's order)
 *                 complete ──► completed
 *
 * Messages that carry a mail message (inserts, phoneMessage) carry its raw
 * bytes as the frame body, never inside the JSON header.
 */

import type { OmittedPart } from './preview.js';
import type { AnyRequest, RequestError } from './requests.js';

/** Flag actions, the same in both directions. */
export const FLAG_ACTION_KINDS = ['markRead', 'markUnread', 'flag', 'unflag'] as const;
export type FlagActionKind = (typeof FLAG_ACTION_KINDS)[number];

/** Actions about one existing message, the same in both directions. */
export const MESSAGE_ACTION_KINDS = [...FLAG_ACTION_KINDS, 'trash', 'recover', 'destroy'] as const;
export type MessageActionKind = (typeof MESSAGE_ACTION_KINDS)[number];

/**
 * What an insert's body stands in for: a desktop message larger than
 * LIMITS.maxMessageBytes goes to the phone as a short stand-in (its headers and
 * a note), recorded under the original's fingerprint and size.
 */
export interface StandInFor {
  fingerprint: string;
  size: number;
}

/** The header field that marks such a stand-in (informational: identity comes from `standInFor`). */
export const STAND_IN_HEADER = 'X-Twinbox-Stand-In';

/**
 * What an insert's body is a preview of (preview.ts, docs/reach.md): a window message above the server's
 * `previewAboveBytes` goes without its large parts. Its identity is the whole message's — fingerprint, size
 * and content digest, computed by the agent from the whole (docs/identity.md) — so pairing, dedupe and move
 * detection match it as if it were held whole; `omitted` are the parts the phone fetches on demand.
 */
export interface PreviewOf {
  fingerprint: string;
  size: number;
  digest: string;
  omitted: OmittedPart[];
}

/** A change made on the desktop, sent by the agent. `unmap` is normalization: leave the phone window. */
export type AgentAction =
  | { kind: 'insert'; date: number; seen: boolean; flagged: boolean; tiebreak: number; standInFor?: StandInFor; previewOf?: PreviewOf }
  | { kind: MessageActionKind | 'unmap'; phoneId: number };
export type AgentActionKind = AgentAction['kind'];
export const AGENT_ACTION_KINDS: readonly AgentActionKind[] = ['insert', ...MESSAGE_ACTION_KINDS, 'unmap'];

/** The SMTP envelope of an outgoing message. */
export interface Envelope {
  from: string;
  to: string[];
}

/**
 * A change made on the phone, sent by the server after the swap request.
 * `deliver`: send this outgoing message through the desktop's SMTP server and
 * file it in the desktop Sent folder (docs/spec.md §7, via sync); `sent`: the phone
 * sent it directly, file a copy in the desktop Sent folder.
 */
export type ServerAction =
  | { kind: 'insert'; phoneId: number; date: number; seen: boolean; flagged: boolean }
  /** The phone let go of its copy (retention, size cap): the desktop keeps the message; forget the mapping. */
  | { kind: 'unmap'; phoneId: number }
  /**
   * Retention, where the operator opted in (docs/retention.md): destroy the desktop copy only if, at the
   * moment of expunge, it is in the desktop Trash and is this very message (identity); anything else
   * (recovered on the desktop, another message) is left alone and answered `gone`.
   */
  | { kind: 'expire'; phoneId: number; identity: MessageIdentity }
  | { kind: 'deliver'; phoneId: number; envelope: Envelope }
  | { kind: 'sent'; phoneId: number; date: number }
  | { kind: Exclude<MessageActionKind, 'destroy'>; phoneId: number }
  /**
   * `identity`: what the destroyed message was, so that an agent that has no
   * mapping for it (it started over: initial sync) can still find its desktop
   * copy — only the same message (identity.ts), never one with its Message-ID.
   */
  | { kind: 'destroy'; phoneId: number; identity?: MessageIdentity };

/** A phone message's identity as the desktop can check it (identity scheme 3, identity.ts). */
export interface MessageIdentity {
  folder: 'inbox' | 'trash';
  fingerprint: string;
  digest: string;
}
export type ServerActionKind = ServerAction['kind'];
export const SERVER_ACTION_KINDS: readonly ServerActionKind[] = ['insert', 'deliver', 'sent', ...MESSAGE_ACTION_KINDS, 'unmap', 'expire'];

/** Account options the server holds and tells the agent at hello (docs/spec.md §2, §6). */
export interface AccountOptions {
  window: number;
  unreadFirst: boolean;
  conflictPolicy: 'desktop' | 'phone';
  /**
   * Window messages larger than this go to the phone as previews (preview.ts; the server's
   * `reach.previewAboveBytes`). Absent (a server from before) or 0: every message goes whole, as before.
   */
  previewAboveBytes?: number;
}

/** What the user changed on the phone since both sides last agreed (docs/spec.md §6): it wins at an initial sync. */
export const PHONE_CHANGES = ['seen', 'flagged', 'folder'] as const;
export type PhoneChange = (typeof PHONE_CHANGES)[number];

/** One phone message as listed at the initial sync. */
export interface PhoneListEntry {
  phoneId: number;
  folder: 'inbox' | 'trash';
  /** Finds desktop candidates (fingerprint.ts). */
  fingerprint: string;
  /** Decides which candidate is the same message (identity.ts). */
  digest: string;
  date: number;
  seen: boolean;
  flagged: boolean;
  /** Changed on the phone since the last agreed state, still unsent: the phone's value stands. */
  changed: PhoneChange[];
}

/**
 * Result of applying one agent action at the server: done, the message is no longer there (docs/spec.md §6:
 * acknowledged as "gone"), or `failed`: this message could not be applied (nothing changed; the error says
 * why) — the agent keeps the action and tries again at later syncs, then quarantines it (docs/quarantine.md).
 */
export type ActionResult = 'ok' | 'gone' | 'failed';
export const ACTION_RESULTS: readonly ActionResult[] = ['ok', 'gone', 'failed'];

/**
 * Result of a server action at the agent: also `failed` for a delivery the desktop SMTP server refused;
 * `deferred`: this message could not be applied now (the desktop refused it; nothing changed): keep the
 * action, it is tried again at the next sync; `quarantined`: it kept failing and is set aside until the
 * user retries it (docs/quarantine.md). Both carry the error.
 */
export type ServerActionResult = 'ok' | 'gone' | 'failed' | 'deferred' | 'quarantined';
export const SERVER_ACTION_RESULTS: readonly ServerActionResult[] = ['ok', 'gone', 'failed', 'deferred', 'quarantined'];

export type ClientMessage =
  | {
      type: 'hello';
      version: number;
      accountId: string;
      token: string;
      agentId: string;
      /** The pairing epoch the agent last completed a sync in, or null when it has none. */
      syncEpoch: string | null;
      lastSyncNo: number;
      /** Every agent action with seq ≤ this has been acknowledged and forgotten by the agent. */
      ackedThrough: number;
      /**
       * The agent has nothing to do: no action pending, no desktop change, its window settled for these
       * options. If the server has nothing for it either (and the options still hold), it completes the
       * sync at once: `welcome.completed` (a quiet sync is one round trip, issue 11).
       */
      quiet?: { window: number; unreadFirst: boolean };
      /**
       * The agent has no action to push: if the sync is an update, the server starts the swap with the welcome
       * (`welcome.swapping`) and the agent sends no `swap` — one round trip fewer for a sync that brings phone
       * changes (docs/spec.md §4). A server that does not say `swapping` waits for the `swap` as before.
       */
      swap?: true;
    }
  /** A presence connection, kept open between syncs: the server may ask for a sync over it (push). */
  /** `requests`: the request lane version the agent answers (requests.ts, REQUESTS_VERSION); absent in older agents. */
  | { type: 'watch'; version: number; accountId: string; token: string; agentId: string; requests?: number }
  /** The answer to a request (requests.ts): its result as JSON in the frame body, or no body and an error. */
  | { type: 'response'; id: number; error?: RequestError }
  /** Bytes of a part, in order, after its response; `last` ends the part (the body may be empty). */
  | { type: 'chunk'; id: number; seq: number; last: boolean }
  | { type: 'beginInitial'; syncEpoch: string }
  /** The next page of the phone list: entries with phone IDs above `after`. */
  | { type: 'listPhone'; after: number }
  | { type: 'fetchPhone'; phoneIds: number[] }
  | { type: 'action'; seq: number; action: AgentAction }
  | { type: 'swap' }
  | { type: 'serverAck'; seq: number; result: ServerActionResult; desktopUid?: number; error?: string }
  | { type: 'freeSlots' }
  | { type: 'order'; entries: OrderEntry[] }
  | { type: 'complete'; syncNo: number; stats: SyncStats };

/**
 * A phone Inbox message's place in the desktop order (docs/spec.md §2): the desktop arrival time (INTERNALDATE, ms)
 * and the desktop UID that orders it among messages of the same second. A phone arrival paired with its
 * desktop twin takes the twin's place (issue 18.7).
 */
export interface OrderEntry {
  phoneId: number;
  tiebreak: number;
  date: number;
}

export type ServerMessage =
  /** `completed`: a quiet hello was completed at once as this sync number; nothing else follows. */
  /** `swapping`: the hello asked for the swap and it has begun: serverAction* … actionsEnd follow, no `swap` is sent. */
  | { type: 'welcome'; version: number; mode: 'initial' | 'update'; options: AccountOptions; lastSyncNo: number; completed?: number; swapping?: true }
  | { type: 'watching' }
  /** A question about the desktop mailbox, over a watch connection (requests.ts); answered by `response`. */
  | ({ type: 'request'; id: number; timeoutMs: number } & AnyRequest)
  /** The agent may send this many more bytes of the part streamed for request `id`. */
  | { type: 'credit'; id: number; bytes: number }
  /** The server no longer wants the answer to request `id` (the phone went away, the deadline passed). */
  | { type: 'cancel'; id: number }
  /** Over a watch connection: something changed on the phone, or the user asked for a sync. */
  | { type: 'syncRequest'; reason: 'phoneChange' | 'syncNow' }
  /** One page of the phone list, in phone ID order; `next` is the `after` of the next page, null after the last. */
  | { type: 'phoneList'; messages: PhoneListEntry[]; next: number | null }
  | { type: 'phoneMessage'; phoneId: number; date: number; seen: boolean; flagged: boolean }
  | { type: 'phoneGone'; phoneId: number }
  | { type: 'ack'; seq: number; result: ActionResult; phoneId?: number; error?: string }
  | { type: 'serverAction'; seq: number; action: ServerAction }
  | { type: 'actionsEnd'; count: number }
  | { type: 'freeSlotsResult'; free: number }
  | { type: 'completed'; syncNo: number }
  | { type: 'error'; code: string; message: string };

export type Message = ClientMessage | ServerMessage;
export type ClientMessageType = ClientMessage['type'];
export type ServerMessageType = ServerMessage['type'];

/** Counters of one sync, recorded on both sides when it completes (docs/spec.md §4.7). */
export interface SyncStats {
  mode: 'initial' | 'update';
  agentActions: number;
  serverActions: number;
  unmapped: number;
  pulled: number;
  insertedOnDesktop: number;
  /** Messages in the desktop INBOX after the sync (the phone shows "the W newest of N"); optional: older agents omit it. */
  desktopInbox?: number;
  /** Desktop messages the agent holds in quarantine (docs/quarantine.md): set aside after failing again and again. */
  quarantined?: number;
}

/** A decoded frame: its message and, for messages that carry mail, the raw bytes. */
export interface Frame<M extends Message = Message> {
  message: M;
  body?: Buffer;
}

/** Which messages carry a mail body. */
export function carriesBody(message: Message): boolean {
  switch (message.type) {
    case 'phoneMessage':
    case 'chunk':
      return true;
    case 'response':
      return message.error === undefined;
    case 'action':
      return message.action.kind === 'insert';
    case 'serverAction':
      return message.action.kind === 'insert' || message.action.kind === 'deliver' || message.action.kind === 'sent';
    default:
      return false;
  }
}
