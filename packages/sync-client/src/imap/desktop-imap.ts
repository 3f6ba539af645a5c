/**
 * The desktop mailbox over IMAP (imapflow 2.1.2). One connection, used by one
 * sync at a time. imapflow reports many failures as `false`; every call here
 * turns those into a thrown TwinboxError('IMAP'), so nothing fails silently.
 *
 * Folders are named by role: `inbox` is INBOX, `trash` is the folder with the
 * \Trash special-use attribute (RFC 6154), else one named "Trash", created if
 * missing.
 */
import { ImapFlow, type FetchMessageObject, type FetchQueryObject, type ImapFlowOptions, type MailboxObject } from 'imapflow';
import {
  FINGERPRINT_HEADERS,
  TRIGGER_HEADER,
  TwinboxError,
  contentDigestOfRaw,
  fingerprintOf,
  imapSafe,
  imapSecurityOptions,
  parseHeaderFields,
  type TransportSecurity,
} from '@twinbox/protocol';
import { classifyConnectError } from './connect-errors.js';
import { expungeExactly, expungeMethod, uidSet, type ExpungeMethod } from './expunge.js';
import { chooseFolder, type FolderChoice, type ListedFolder } from './folders.js';
import { findSame } from './same-message.js';
import type { FolderRole, InboxEntry } from '../store/agent-store.js';


export interface ImapSettings {
  host: string;
  port: number;
  /** tls (993), starttls (required), or plain (only when asked for): transport-security.ts. */
  security: TransportSecurity;
  user: string;
  password: string;
  /** Accept a certificate that does not verify (test servers only). */
  allowInvalidCertificate?: boolean;
  /** Use CONDSTORE/QRESYNC when offered (default). Off: compare with the saved inbox state instead. */
  qresync?: boolean;
  /** How often the trigger watcher checks that its idle connection still answers (default 60 s). */
  keepaliveSeconds?: number;
  /** How often the trigger watcher looks for trigger e-mails besides IDLE (default 20 s; no IDLE, or an IDLE that never notifies). */
  pollSeconds?: number;
  /** The Trash and Sent folders, when discovery (folders.ts) would not find the right ones. */
  trashFolder?: string;
  sentFolder?: string;
}

export interface OpenedFolder {
  uidValidity: string;
  highestModseq: string | null;
  uidNext: number;
  exists: number;
  /** QRESYNC accepted the saved state: `vanished` and a CHANGEDSINCE fetch are complete. */
  qresync: boolean;
  vanished: number[];
}

/** Folders the agent touches: the two it maps, and Sent, where outgoing mail is filed. */
export type ImapFolder = FolderRole | 'sent';

/** What sync needs to know of one desktop message; `trigger` is its X-Twinbox-Trigger header, if any. */
export type DesktopSummary = InboxEntry & { trigger?: string };

const SEEN = '\\Seen';
const FLAGGED = '\\Flagged';
const DELETED = '\\Deleted';
/** UIDs per FETCH of summaries or flags: bounds what one answer holds in memory. */
const UIDS_PER_FETCH = 2000;
/** Message-IDs OR-ed into one SEARCH. */
const MESSAGE_IDS_PER_SEARCH = 50;
const SUMMARY_QUERY: FetchQueryObject = { uid: true, flags: true, internalDate: true, size: true, headers: [...FINGERPRINT_HEADERS, TRIGGER_HEADER.toLowerCase()] };

type ImapExec = (command: string, attributes: unknown[], options: { untagged: Record<string, (untagged: { attributes?: { value?: unknown }[] }) => void> }) => Promise<{ next: () => void }>;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** An IMAP date (RFC 3501 date: 22-Nov-2026) of a UTC day. */
function imapDate(day: Date): string {
  return `${day.getUTCDate()}-${MONTHS[day.getUTCMonth()]}-${day.getUTCFullYear()}`;
}

function imapError(what: string, cause?: unknown): TwinboxError {
  return new TwinboxError('IMAP', `IMAP ${what} failed${cause instanceof Error ? `: ${cause.message}` : ''}`, { cause });
}

/** \\Seen, \\Flagged and \\Deleted of a fetched message. */
export interface MessageFlags {
  seen: boolean;
  flagged: boolean;
  deleted: boolean;
}

function flagsOf(m: FetchMessageObject): MessageFlags {
  return { seen: m.flags?.has(SEEN) ?? false, flagged: m.flags?.has(FLAGGED) ?? false, deleted: m.flags?.has(DELETED) ?? false };
}

/** INTERNALDATE of a fetched message, in ms. */
function dateOf(m: FetchMessageObject): number {
  return m.internalDate instanceof Date ? m.internalDate.getTime() : new Date(m.internalDate ?? 0).getTime();
}

export function summaryOf(m: FetchMessageObject): DesktopSummary {
  const fields = parseHeaderFields(m.headers?.toString('latin1') ?? '');
  const size = m.size ?? 0;
  const date = dateOf(m);
  const trigger = fields.get(TRIGGER_HEADER.toLowerCase());
  return {
    uid: m.uid,
    date,
    seen: m.flags?.has(SEEN) ?? false,
    flagged: m.flags?.has(FLAGGED) ?? false,
    ...(m.flags?.has(DELETED) ? { deleted: true } : {}),
    fingerprint: fingerprintOf(fields, size),
    size,
    ...(trigger ? { trigger } : {}),
  };
}

/** imapflow options for the desktop account (shared by the sync connection and the trigger watcher). */
export function imapClientOptions(settings: ImapSettings): ImapFlowOptions {
  return {
    host: settings.host,
    port: settings.port,
    ...imapSecurityOptions(settings.security),
    auth: { user: settings.user, pass: settings.password },
    logger: false,
    tls: { rejectUnauthorized: !settings.allowInvalidCertificate },
  };
}

/**
 * The code paths chosen for this server, once, from its capabilities at
 * connect (issue 10); reported in every sync summary and by `doctor`.
 */
export interface ImapCodePaths {
  /** qresync: VANISHED + CHANGEDSINCE; condstore: CHANGEDSINCE + a count check; compare: every UID and flag listed. */
  detection: 'qresync' | 'condstore' | 'compare';
  move: 'move' | 'copy-expunge';
  expunge: ExpungeMethod;
  /** Where UIDNEXT comes from: the SELECT answer, or STATUS where SELECT lacks it (Courier). */
  uidNext: 'select' | 'status';
  /** How an APPENDed message's UID is learnt: APPENDUID (UIDPLUS), or a search above the old UIDNEXT. */
  appendUid: 'appenduid' | 'search';
  folders: { trash: FolderChoice; sent: FolderChoice };
}

export class DesktopImap {
  private trashPath = 'Trash';
  private sentPath = 'Sent';
  private opened: string | undefined;
  readonly paths: ImapCodePaths;

  private constructor(
    private readonly client: ImapFlow,
    settings: ImapSettings,
  ) {
    const caps = client.capabilities;
    this.paths = {
      detection: client.enabled.has('QRESYNC') ? 'qresync' : caps.has('CONDSTORE') && settings.qresync !== false ? 'condstore' : 'compare',
      move: caps.has('MOVE') ? 'move' : 'copy-expunge',
      expunge: expungeMethod(client),
      uidNext: 'select',
      appendUid: caps.has('UIDPLUS') ? 'appenduid' : 'search',
      folders: { trash: { path: 'Trash', how: 'created' }, sent: { path: 'Sent', how: 'created' } },
    };
  }

  /**
   * Log in, choose the code paths and the Trash and Sent folders. Failures are
   * classified (connect-errors.ts); `warn` hears what the user should know
   * (a folder created because none was found).
   */
  static async connect(settings: ImapSettings, warn: (message: string) => void = () => undefined): Promise<DesktopImap> {
    const client = new ImapFlow({ ...imapClientOptions(settings), qresync: settings.qresync !== false });
    // imapflow emits 'error' on socket failures; without a listener that would crash the agent.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (err) {
      client.close();
      throw classifyConnectError(err, settings);
    }
    const imap = new DesktopImap(client, settings);
    await imap.resolveFolders(settings, warn);
    return imap;
  }

  /** Still logged in and answering (a connection kept between syncs may have been dropped by the server). */
  get usable(): boolean {
    return this.client.usable;
  }

  /**
   * Does the connection still answer? A NOOP that gets no answer within
   * `timeoutMs` (a link gone silent without closing: a NAT or firewall
   * dropped it) means no; the connection is closed then.
   */
  async answers(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const silent = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const answered = this.client.noop().then(
      () => true,
      () => false,
    );
    const ok = await Promise.race([answered, silent]);
    clearTimeout(timer);
    if (!ok) this.client.close();
    return ok;
  }

  get supportsQresync(): boolean {
    return this.client.enabled.has('QRESYNC');
  }

  /** What the server advertises (for `doctor`). */
  get capabilities(): string[] {
    return [...this.client.capabilities.keys()].sort();
  }

  async close(): Promise<void> {
    try {
      await this.client.logout();
    } catch {
      this.client.close();
    }
  }

  private path(role: ImapFolder): string {
    return role === 'inbox' ? 'INBOX' : role === 'trash' ? this.trashPath : this.sentPath;
  }

  /** Trash and Sent as folders.ts chooses them; created under the personal namespace only when none fits. */
  private async resolveFolders(settings: ImapSettings, warn: (message: string) => void): Promise<void> {
    const listed = await this.client.list();
    const folders: ListedFolder[] = listed.map((f) => ({
      path: f.path,
      name: f.name,
      delimiter: f.delimiter,
      flags: f.flags,
      ...(f.specialUse && f.specialUseSource === 'extension' ? { specialUse: f.specialUse } : {}),
    }));
    const personal = this.client.namespace;
    const prefix = personal?.prefix ?? '';
    for (const role of ['trash', 'sent'] as const) {
      let choice: FolderChoice | undefined;
      try {
        choice = chooseFolder(role, folders, prefix, role === 'trash' ? settings.trashFolder : settings.sentFolder);
      } catch (err) {
        throw new TwinboxError('CONFIG', (err as Error).message);
      }
      if (!choice) {
        const path = `${prefix}${role === 'trash' ? 'Trash' : 'Sent'}`;
        await this.client.mailboxCreate(path).catch((err: unknown) => Promise.reject(imapError(`CREATE ${path}`, err)));
        warn(`the IMAP server has no ${role === 'trash' ? 'Trash' : 'Sent'} folder Twinbox recognises: created "${path}" (set imap.${role}Folder to use another)`);
        choice = { path, how: 'created' };
      }
      if (role === 'trash') this.trashPath = choice.path;
      else this.sentPath = choice.path;
      this.paths.folders[role] = choice;
    }
  }

  /**
   * SELECT a folder. With a saved state and QRESYNC (RFC 7162 §3.2.5), the
   * server reports UIDs expunged since then (VANISHED (EARLIER)) during the
   * SELECT itself, so the listener is attached before opening.
   */
  async open(role: ImapFolder, saved?: { uidValidity: string; highestModseq: string | null }): Promise<OpenedFolder> {
    const vanished: number[] = [];
    const onExpunge = (event: { uid?: number; vanished?: boolean }) => {
      if (event.vanished && event.uid) vanished.push(event.uid);
    };
    const useQresync = this.supportsQresync && saved?.highestModseq != null;
    // imapflow 2.1.2 accepts these two options at run time but its type omits them.
    const options = useQresync ? ({ uidValidity: BigInt(saved.uidValidity), changedSince: BigInt(saved.highestModseq!) } as object) : {};
    this.client.on('expunge', onExpunge);
    let mailbox: MailboxObject;
    try {
      mailbox = await this.client.mailboxOpen(this.path(role), options);
    } catch (err) {
      throw imapError(`SELECT ${this.path(role)}`, err);
    } finally {
      this.client.off('expunge', onExpunge);
    }
    this.opened = role;
    // Courier sends no [UIDNEXT] in its SELECT answer; STATUS gives it (issue 10).
    // (Read before STATUS: imapflow updates the open mailbox object from a STATUS of it.)
    const fromSelect = mailbox.uidNext;
    const uidNext = fromSelect ?? (await this.statusUidNext(role));
    if (fromSelect === undefined) this.paths.uidNext = 'status';
    const qresync = useQresync && (mailbox as MailboxObject & { qresync?: boolean }).qresync !== false && String(mailbox.uidValidity) === saved!.uidValidity;
    return {
      uidValidity: String(mailbox.uidValidity),
      highestModseq: mailbox.highestModseq !== undefined && !mailbox.noModseq ? String(mailbox.highestModseq) : null,
      uidNext,
      exists: mailbox.exists,
      qresync,
      vanished: [...new Set(vanished)],
    };
  }

  /** Is this folder the selected one? */
  isSelected(role: ImapFolder): boolean {
    return this.opened === role;
  }

  /** Select this folder, unless it is. */
  async keepSelected(role: ImapFolder): Promise<void> {
    await this.ensureOpen(role);
  }

  private async ensureOpen(role: ImapFolder): Promise<void> {
    if (this.opened !== role) await this.open(role);
  }

  /**
   * Summaries of the messages with UID ≥ `minUid`; with `changedSince`, only
   * those changed since that MODSEQ. (`N:*` also matches the highest UID when
   * it is below N, RFC 3501 §6.4.8, hence the filter.)
   */
  async summaries(role: ImapFolder, minUid: number, changedSince?: string): Promise<DesktopSummary[]> {
    await this.ensureOpen(role);
    try {
      const options = { uid: true, ...(changedSince ? { changedSince: BigInt(changedSince) } : {}) };
      const list = await this.client.fetchAll(`${Math.max(1, minUid)}:*`, SUMMARY_QUERY, options);
      return list.filter((m) => m.uid >= minUid).map(summaryOf);
    } catch (err) {
      throw imapError(`FETCH ${minUid}:*`, err);
    }
  }

  /**
   * FETCH `query` for these UIDs, a page of UIDS_PER_FETCH at a time (so no
   * answer holds more than a page), each message turned into a `T` and each
   * page handed to `onPage`. A UID that is gone is absent.
   */
  private async fetchPages<T>(role: ImapFolder, uids: number[], query: FetchQueryObject, what: string, map: (m: FetchMessageObject) => T, onPage: (page: T[]) => void): Promise<number> {
    if (uids.length === 0) return 0;
    await this.ensureOpen(role);
    const sorted = [...new Set(uids)].sort((a, b) => a - b);
    let found = 0;
    for (let i = 0; i < sorted.length; i += UIDS_PER_FETCH) {
      let list: FetchMessageObject[];
      try {
        list = await this.client.fetchAll(uidSet(sorted.slice(i, i + UIDS_PER_FETCH)), query, { uid: true });
      } catch (err) {
        throw imapError(`FETCH ${what} in ${this.path(role)}`, err);
      }
      found += list.length;
      onPage(list.map(map));
    }
    return found;
  }

  /** Summaries of these UIDs, page by page (`onPage`); returns how many were found. */
  summariesOf(role: ImapFolder, uids: number[], onPage: (page: DesktopSummary[]) => void): Promise<number> {
    return this.fetchPages(role, uids, SUMMARY_QUERY, 'summaries', summaryOf, onPage);
  }

  /**
   * UID and flags of every message changed since a MODSEQ (CHANGEDSINCE, RFC
   * 7162): no header fields, so the server need not open the messages.
   */
  async flagsChangedSince(role: FolderRole, modseq: string): Promise<({ uid: number } & MessageFlags)[]> {
    await this.ensureOpen(role);
    try {
      const list = await this.client.fetchAll('1:*', { uid: true, flags: true }, { uid: true, changedSince: BigInt(modseq) });
      return list.map((m) => ({ uid: m.uid, ...flagsOf(m) }));
    } catch (err) {
      throw imapError('FETCH (CHANGEDSINCE)', err);
    }
  }

  /**
   * UID, INTERNALDATE and flags of these UIDs: the cheap listing (no header
   * fields) that decides which messages are worth a summary.
   */
  async datesOf(role: FolderRole, uids: number[]): Promise<{ uid: number; date: number; seen: boolean; deleted: boolean }[]> {
    const result: { uid: number; date: number; seen: boolean; deleted: boolean }[] = [];
    const map = (m: FetchMessageObject) => ({ uid: m.uid, date: dateOf(m), seen: flagsOf(m).seen, deleted: flagsOf(m).deleted });
    await this.fetchPages(role, uids, { uid: true, flags: true, internalDate: true }, 'INTERNALDATE', map, (page) => result.push(...page));
    return result;
  }

  /**
   * UID and flags of these UIDs only (the comparison path where CONDSTORE is
   * missing: what the agent tracks, never the whole folder).
   */
  async flagsOf(role: FolderRole, uids: number[]): Promise<({ uid: number } & MessageFlags)[]> {
    const result: ({ uid: number } & MessageFlags)[] = [];
    await this.fetchPages(role, uids, { uid: true, flags: true }, 'flags', (m) => ({ uid: m.uid, ...flagsOf(m) }), (page) => result.push(...page));
    return result;
  }

  /**
   * UIDs matching a search (RFC 3501 §6.4.4): `since` is a UTC day (SINCE
   * compares INTERNALDATE by date only), `unseen` only unread messages.
   */
  async searchUids(role: FolderRole, criteria: { since?: Date; unseen?: true; all?: true }): Promise<number[]> {
    await this.ensureOpen(role);
    const query = { ...(criteria.since ? { since: criteria.since } : {}), ...(criteria.unseen ? { seen: false } : {}), ...(criteria.all ? { all: true } : {}) };
    const found = await this.client.search(query, { uid: true });
    if (found === false || found === undefined) throw imapError(`SEARCH in ${this.path(role)}`);
    return found;
  }

  /** The server sorts (RFC 5256): the INBOX's order can be asked for instead of listed. */
  get canSort(): boolean {
    return this.client.capabilities.has('SORT');
  }

  /**
   * UIDs in the virtual order of SPEC §2 — newest arrival first (SORT
   * REVERSE ARRIVAL: INTERNALDATE; ties by sequence, i.e. UID, reversed) —
   * of the messages since a UTC day, or of all. Only where `canSort`.
   */
  async sortedByArrival(role: FolderRole, since?: Date): Promise<number[]> {
    await this.ensureOpen(role);
    const criteria = since ? [{ type: 'ATOM', value: 'SINCE' }, { type: 'ATOM', value: imapDate(since) }] : [{ type: 'ATOM', value: 'ALL' }];
    const attributes = [[{ type: 'ATOM', value: 'REVERSE' }, { type: 'ATOM', value: 'ARRIVAL' }], { type: 'ATOM', value: 'US-ASCII' }, ...criteria];
    const uids: number[] = [];
    // imapflow has no SORT command; its exec() (untyped) sends one and hands over the untagged answers.
    const exec = (this.client as unknown as { exec: ImapExec }).exec.bind(this.client);
    try {
      const response = await exec('UID SORT', attributes, {
        untagged: {
          SORT: (untagged: { attributes?: { value?: unknown }[] }) => {
            for (const a of untagged.attributes ?? []) {
              const uid = Number(a.value);
              if (Number.isSafeInteger(uid) && uid > 0) uids.push(uid);
            }
          },
        },
      });
      response.next();
    } catch (err) {
      throw imapError(`UID SORT in ${this.path(role)}`, err);
    }
    return uids;
  }

  /** INTERNALDATE of the message at this sequence number (1 = oldest arrival), if there is one. */
  async dateAtSequence(role: FolderRole, seq: number): Promise<number | undefined> {
    await this.ensureOpen(role);
    const m = await this.client.fetchOne(String(seq), { uid: true, internalDate: true });
    if (!m || !m.internalDate) return undefined;
    return dateOf(m);
  }

  /**
   * Summaries of the messages whose Message-ID is one of these (server-side
   * SEARCH HEADER, OR-ed a batch at a time): finding a phone message's
   * desktop twin without listing the folder.
   */
  async searchMessageIds(role: FolderRole, messageIds: string[]): Promise<DesktopSummary[]> {
    const uids = new Set<number>();
    await this.ensureOpen(role);
    for (let i = 0; i < messageIds.length; i += MESSAGE_IDS_PER_SEARCH) {
      const batch = messageIds.slice(i, i + MESSAGE_IDS_PER_SEARCH);
      const query = batch.length === 1 ? { header: { 'message-id': batch[0]! } } : { or: batch.map((id) => ({ header: { 'message-id': id } })) };
      const found = await this.client.search(query, { uid: true });
      if (found === false || found === undefined) throw imapError(`SEARCH HEADER Message-ID in ${this.path(role)}`);
      for (const uid of found) uids.add(uid);
    }
    const summaries: DesktopSummary[] = [];
    await this.summariesOf(role, [...uids], (page) => summaries.push(...page));
    return summaries;
  }

  /** Which of these UIDs still exist in the folder. */
  async existing(role: FolderRole, uids: number[]): Promise<Set<number>> {
    if (uids.length === 0) return new Set();
    await this.ensureOpen(role);
    const found = await this.client.search({ uid: uidSet(uids) }, { uid: true });
    if (found === false || found === undefined) throw imapError(`SEARCH in ${this.path(role)}`);
    return new Set(found);
  }

  /** Raw messages (RFC 5322 bytes, CRLF) by UID; a UID that is gone is simply absent. */
  async sources(role: ImapFolder, uids: number[]): Promise<Map<number, Buffer>> {
    const found = new Map<number, Buffer>();
    if (uids.length === 0) return found;
    await this.ensureOpen(role);
    for (const m of await this.client.fetchAll(uidSet(uids), { uid: true, source: true }, { uid: true })) {
      if (m.source) found.set(m.uid, m.source);
    }
    return found;
  }

  /** The header block of one message (for a stand-in of one too large to fetch whole). */
  async headerBlock(role: FolderRole, uid: number): Promise<Buffer | undefined> {
    await this.ensureOpen(role);
    const m = await this.client.fetchOne(String(uid), { uid: true, headers: true }, { uid: true });
    return m ? m.headers : undefined;
  }

  /** APPEND with flags and INTERNALDATE; returns the new UID (UIDPLUS APPENDUID, else a search). */
  async append(role: ImapFolder, message: Buffer, flags: { seen: boolean; flagged: boolean }, date: Date, fingerprint: string): Promise<number> {
    // Bytes every IMAP server carries unchanged (imap-safe.ts): what the phone holds already; a guard for the rest.
    const raw = imapSafe(message);
    const list = [...(flags.seen ? [SEEN] : []), ...(flags.flagged ? [FLAGGED] : [])];
    const before = role === this.opened ? undefined : await this.open(role);
    const minUid = before?.uidNext ?? 1;
    const result = await this.client.append(this.path(role), raw, list, date).catch((err: unknown) => Promise.reject(imapError('APPEND', err)));
    if (!result) throw imapError('APPEND');
    if (result.uid) return result.uid;
    // Without APPENDUID: the copy above the old UIDNEXT that is this very message (not merely one with its Message-ID).
    const uid = await findSame(this, role, { fingerprint, digest: contentDigestOfRaw(raw) }, minUid);
    if (!uid) throw imapError('APPEND (the appended message could not be found)');
    return uid;
  }

  /** Set or clear \\Seen and \\Flagged on these messages: one UID STORE per direction, whatever their number. */
  async setFlags(role: FolderRole, uids: number | number[], change: { seen?: boolean; flagged?: boolean }): Promise<void> {
    const set = uidSet(Array.isArray(uids) ? uids : [uids]);
    await this.ensureOpen(role);
    const add = [...(change.seen === true ? [SEEN] : []), ...(change.flagged === true ? [FLAGGED] : [])];
    const remove = [...(change.seen === false ? [SEEN] : []), ...(change.flagged === false ? [FLAGGED] : [])];
    if (add.length > 0 && !(await this.client.messageFlagsAdd(set, add, { uid: true }))) throw imapError('STORE +FLAGS');
    if (remove.length > 0 && !(await this.client.messageFlagsRemove(set, remove, { uid: true }))) throw imapError('STORE -FLAGS');
  }

  /**
   * Move one message between INBOX and Trash: MOVE (RFC 6851) where offered,
   * else COPY and an expunge of exactly that message (expunge.ts). Returns
   * its UID in the destination from COPYUID (UIDPLUS), else found there above
   * the UIDNEXT from before as the same message (same-message.ts; by
   * fingerprint only where its digest is not known). A \Deleted mark does not
   * travel with it: the user's next EXPUNGE there must not destroy what was moved.
   */
  async move(from: FolderRole, uid: number, to: FolderRole, identity: { fingerprint: string; digest: string | null }): Promise<number | undefined> {
    const target = await this.statusUidNext(to);
    await this.ensureOpen(from);
    let moved: number | undefined;
    if (this.paths.move === 'move') {
      const result = await this.client.messageMove(String(uid), this.path(to), { uid: true });
      if (result === false) throw imapError(`MOVE to ${this.path(to)}`);
      moved = result.uidMap?.get(uid);
    } else {
      const result = await this.client.messageCopy(String(uid), this.path(to), { uid: true });
      if (result === false) throw imapError(`COPY to ${this.path(to)}`);
      moved = result.uidMap?.get(uid);
      await expungeExactly(this.client, [uid]);
    }
    moved ??= identity.digest === null ? await this.findByFingerprint(to, identity.fingerprint, target) : await findSame(this, to, { fingerprint: identity.fingerprint, digest: identity.digest }, target);
    if (moved !== undefined) {
      await this.ensureOpen(to);
      await this.client.messageFlagsRemove(String(moved), ['\\Deleted'], { uid: true });
    }
    return moved;
  }

  /** Expunge one message for good, and only it (expunge.ts). */
  async destroy(role: FolderRole, uid: number): Promise<void> {
    await this.ensureOpen(role);
    await expungeExactly(this.client, [uid]);
  }

  /** The lowest-UID message at or above `minUid` with this fingerprint. */
  async findByFingerprint(role: ImapFolder, fingerprint: string, minUid: number): Promise<number | undefined> {
    const found = await this.summaries(role, minUid);
    return found.filter((m) => m.fingerprint === fingerprint).sort((a, b) => a.uid - b.uid)[0]?.uid;
  }

  /**
   * The folder's state from STATUS (RFC 3501 §6.3.10, HIGHESTMODSEQ from RFC
   * 7162 §3.1.8), without selecting it: selecting a folder of 100,000 messages
   * costs the server far more than reading its header.
   */
  async folderStatus(role: ImapFolder): Promise<{ uidValidity: string; highestModseq: string | null; uidNext: number; exists: number } | undefined> {
    // STATUS of the selected folder answers from this session's view, which only a command like NOOP brings up
    // to date (RFC 3501 §6.3.10: STATUS is no check for new mail in the selected mailbox).
    if (this.opened === role) await this.client.noop();
    const status = await this.client.status(this.path(role), { uidValidity: true, uidNext: true, messages: true, highestModseq: true });
    if (!status || status.uidValidity === undefined || status.uidNext === undefined || status.messages === undefined) return undefined;
    return { uidValidity: String(status.uidValidity), highestModseq: status.highestModseq !== undefined ? String(status.highestModseq) : null, uidNext: status.uidNext, exists: status.messages };
  }

  async statusUidNext(role: ImapFolder): Promise<number> {
    const status = await this.client.status(this.path(role), { uidNext: true });
    if (!status || status.uidNext === undefined) throw imapError(`STATUS ${this.path(role)}`);
    return status.uidNext;
  }
}
