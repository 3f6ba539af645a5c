/**
 * One bad message stays one bad message (docs/quarantine.md): an action that
 * fails for reasons of its message — the desktop IMAP server refuses to
 * store, move or flag that message, or the server cannot store the desktop
 * message — is not allowed to stop the account's syncs.
 *
 *   failure of this message ─► attempts + 1, the error kept
 *     attempts < QUARANTINE_AFTER ─► deferred: the rest of the sync goes on;
 *                                    the action is tried again next sync
 *     attempts = QUARANTINE_AFTER ─► held (quarantined): set aside, shown by
 *                                    `twinbox-agent status` / `doctor` and on
 *                                    the phone, until retried
 *   success ─► its failures are forgotten
 *
 * Anything else — the connection dropped, the IMAP server is busy or says so
 * for every command (UNAVAILABLE, INUSE, OVERQUOTA…), the server is down —
 * fails the sync as before (retryable): it is no fault of one message, and
 * setting messages aside for it would empty the phone.
 */
import { TwinboxError } from '@twinbox/protocol';
import type { AgentStore, QuarantineRow } from '../store/agent-store.js';

/** Failed attempts after which an action is set aside. */
export const QUARANTINE_AFTER = 3;

/**
 * IMAP response codes (RFC 5530) that say the server, not the message, is in
 * the way right now: such a refusal fails the sync (retryable) instead.
 */
const TRANSIENT_CODES = new Set(['UNAVAILABLE', 'INUSE', 'OVERQUOTA', 'SERVERBUG', 'CONTACTADMIN', 'AUTHENTICATIONFAILED', 'AUTHORIZATIONFAILED', 'EXPIRED', 'PRIVACYREQUIRED']);

interface ImapCommandError {
  responseStatus?: string;
  serverResponseCode?: string;
  responseText?: string;
}

/** The IMAP server's own refusal of one command (a tagged NO or BAD), found along the cause chain. */
function refusalOf(err: unknown): ImapCommandError | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const status = (e as ImapCommandError).responseStatus;
    if (status === 'NO' || status === 'BAD') return e as ImapCommandError;
  }
  return undefined;
}

/**
 * Is this a failure of the message the action is about (the IMAP server
 * refused the command for it), rather than of the link or the server?
 */
export function isMessageFailure(err: unknown): boolean {
  const refusal = refusalOf(err);
  if (!refusal) return false;
  const code = (refusal.serverResponseCode ?? '').toUpperCase();
  return !TRANSIENT_CODES.has(code);
}

/** What the user and the operator read about a failure. */
export function failureText(err: unknown): string {
  const refusal = refusalOf(err);
  if (refusal) return `the desktop IMAP server refused it: ${refusal.responseStatus}${refusal.serverResponseCode ? ` [${refusal.serverResponseCode}]` : ''} ${refusal.responseText ?? ''}`.trim();
  return err instanceof TwinboxError || err instanceof Error ? err.message : String(err);
}

type Direction = QuarantineRow['direction'];
type Key = { phoneId?: number; uid?: number };
const keyText = (direction: Direction, kind: string, key: Key) => `${direction} ${kind} ${key.phoneId ?? ''} ${key.uid ?? ''}`;

/**
 * The quarantine as one sync sees it: rows known at its start (so that
 * success costs a write only where a failure was recorded), and the actions
 * deferred in this sync (tried once per sync, not again by a later phase).
 */
export class SyncQuarantine {
  private readonly known: Set<string>;
  /** Agent action sequence numbers deferred in this sync. */
  readonly deferredSeqs = new Set<number>();
  /** Phone IDs whose server action was deferred in this sync: later actions about them wait too, in order. */
  readonly deferredPhoneIds = new Set<number>();
  /** Desktop UIDs to read one at a time in this sync: reading them brought the IMAP connection down before. */
  readonly readAlone = new Set<number>();

  constructor(private readonly store: AgentStore) {
    this.known = new Set(store.quarantine().map((r) => keyText(r.direction, r.kind, { phoneId: r.phoneId ?? undefined, uid: r.uid ?? undefined })));
  }

  /** Record a failed attempt (inside the caller's transaction); returns whether the action is now set aside. */
  failed(direction: Direction, kind: string, key: Key, error: string): QuarantineRow {
    this.known.add(keyText(direction, kind, key));
    return this.store.recordFailure(direction, kind, key, error, QUARANTINE_AFTER);
  }

  /** The action went through (inside the caller's transaction). */
  succeeded(direction: Direction, kind: string, key: Key): void {
    const text = keyText(direction, kind, key);
    if (!this.known.delete(text)) return;
    this.store.clearFailures(direction, kind, key);
  }
}
