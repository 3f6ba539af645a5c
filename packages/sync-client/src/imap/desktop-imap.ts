/**
 * The desktop mailbox over IMAP (imapflow 2.1.2). One connection, used by one
 * sync at a time. imapflow reports many failures as `false`; every call here
 * turns those into a thrown TwinboxError('IMAP'), so nothing fails silently.
 *
 * Folders are named by role: `inbox` is INBOX, `trash` is the folder with the
 * \Trash special-use attribute (RFC 6154), else one named "Trash", created if
 * missing.
 *
 * A command sent because of an advertised capability (SORT, QRESYNC,
 * CONDSTORE, MOVE, UID EXPUNGE, SEARCH HEADER) that the server refuses falls
 * back to the plain path in the same sync and is remembered (fallbacks.ts,
 * issue 18); `paths` says which paths this connection takes.
 */
import { ImapFlow, type FetchMessageObject, type FetchQueryObject, type ImapFlowOptions, type MailboxObject, type MessageStructureObject } from 'imapflow';
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
import { ImapFallbacks, PathRefused, REFUSED, type FallbackPath, type RefusalMemory } from './fallbacks.js';
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
  /** How often the desktop watcher (daemon/desktop-watcher.ts) checks that its idle connection still answers (default 60 s). */
  keepaliveSeconds?: number;
  /** How often the desktop watcher looks by itself besides IDLE — trigger e-mails, and STATUS of INBOX and Trash (default 20 s; no IDLE, or an IDLE that never notifies). */
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

/**
 * The rows of a FETCH that answer it, one per message. imapflow hands over
 * every FETCH row that arrived during the command, unsolicited ones too: a
 * flag another connection changed (the user's client, the desktop watcher)
 * comes as `* 7 FETCH (FLAGS (\Deleted))`, maybe without a UID, and is no
 * message's summary, date or body.
 */
function answering(list: FetchMessageObject[], query: FetchQueryObject, wanted: (uid: number) => boolean): FetchMessageObject[] {
  const rows = new Map<number, FetchMessageObject>();
  for (const m of list) {
    if (typeof m.uid !== 'number' || !wanted(m.uid)) continue;
    if ((query.headers && m.headers === undefined) || (query.internalDate && m.internalDate === undefined) || (query.source && m.source === undefined) || (query.flags && m.flags === undefined)) continue;
    rows.set(m.uid, m);
  }
  return [...rows.values()];
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

/**
 * imapflow options for the desktop account (shared by the sync connection and
 * the desktop watcher). imapflow logs a failed command and returns false: its
 * log goes to `fallbacks`, which tells a refusal from a lost connection.
 */
export function imapClientOptions(settings: ImapSettings, fallbacks: ImapFallbacks): ImapFlowOptions {
  return {
    host: settings.host,
    port: settings.port,
    ...imapSecurityOptions(settings.security),
    auth: { user: settings.user, pass: settings.password },
    logger: fallbacks.logger,
    tls: { rejectUnauthorized: !settings.allowInvalidCertificate },
  };
}

/**
 * The code paths chosen for this server from its capabilities at connect
 * (issue 10), less what it advertised and refused (fallbacks.ts, issue 18);
 * reported in every sync summary and by `doctor`.
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
  /** How the window's cover is found (inbox-tracking.ts): UID SORT (REVERSE ARRIVAL), or arrival times listed. */
  order: 'sort' | 'listing';
  /** How a message is found by its Message-ID: UID SEARCH HEADER, or header fields listed and compared. */
  messageIds: 'search' | 'listing';
  /** Paths the server advertised and refused, now taken the plain way (fallbacks.ts). */
  refused: FallbackPath[];
  folders: { trash: FolderChoice; sent: FolderChoice };
}

export class DesktopImap {
  private trashPath = 'Trash';
  private sentPath = 'Sent';
  private opened: string | undefined;
  readonly paths: ImapCodePaths;
  /** What the server advertised at login (imapflow's own view loses what it refused, see `choosePaths`). */
  private readonly advertised: Set<string>;

  private constructor(
    private readonly client: ImapFlow,
    private readonly settings: ImapSettings,
    readonly fallbacks: ImapFallbacks,
  ) {
    this.advertised = new Set(client.capabilities.keys());
    this.paths = {
      detection: 'compare',
      move: 'copy-expunge',
      expunge: 'protected-expunge',
      uidNext: 'select',
      appendUid: this.advertised.has('UIDPLUS') ? 'appenduid' : 'search',
      order: 'listing',
      messageIds: 'search',
      refused: [],
      folders: { trash: { path: 'Trash', how: 'created' }, sent: { path: 'Sent', how: 'created' } },
    };
    this.choosePaths();
    fallbacks.onRefusal(() => this.choosePaths());
  }

  /**
   * The code paths from what the server advertised less what it refused (on
   * this connection or another: a kept connection chooses again before each
   * sync). A refused extension also leaves imapflow's view of the connection,
   * so that imapflow itself stops using it (QRESYNC's VANISHED, CONDSTORE's
   * MODSEQ and CHANGEDSINCE, UIDPLUS's UID EXPUNGE in messageDelete).
   */
  choosePaths(): void {
    const { client, fallbacks, advertised } = this;
    const refused = (path: FallbackPath) => fallbacks.refused(path);
    if (refused('qresync') || refused('condstore')) client.enabled.delete('QRESYNC');
    if (refused('condstore')) client.enabled.delete('CONDSTORE');
    if (refused('uidExpunge')) client.capabilities.delete('UIDPLUS');
    // Enabled, not only advertised: imapflow sends CHANGEDSINCE only on a connection with CONDSTORE enabled.
    const condstore = client.enabled.has('CONDSTORE') && this.settings.qresync !== false && !refused('condstore');
    this.paths.detection = client.enabled.has('QRESYNC') ? 'qresync' : condstore ? 'condstore' : 'compare';
    this.paths.move = advertised.has('MOVE') && !refused('move') ? 'move' : 'copy-expunge';
    this.paths.expunge = expungeMethod(client, fallbacks);
    this.paths.order = advertised.has('SORT') && !refused('sort') ? 'sort' : 'listing';
    this.paths.messageIds = refused('searchHeader') ? 'listing' : 'search';
    this.paths.refused = fallbacks.list().map((r) => r.path);
  }

  /**
   * Log in, choose the code paths and the Trash and Sent folders. Failures are
   * classified (connect-errors.ts); `warn` hears what the user should know
   * (a folder created because none was found, a command the server refused).
   * `memory` keeps what the server refused between connections (the agent's
   * store); without it, only for this connection.
   */
  static async connect(settings: ImapSettings, warn: (message: string) => void = () => undefined, memory?: RefusalMemory): Promise<DesktopImap> {
    const fallbacks = new ImapFallbacks(ImapFallbacks.serverOf(settings), memory).onRefusal((r) =>
      warn(`the IMAP server refused ${r.command || r.path} ("${r.response}"): taking the plain path from now on, until its capabilities change (twinbox-agent doctor lists it)`),
    );
    // QRESYNC is not even enabled where the server refused it before.
    const qresync = settings.qresync !== false && !fallbacks.refused('qresync') && !fallbacks.refused('condstore');
    const client = new ImapFlow({ ...imapClientOptions(settings, fallbacks), qresync });
    // imapflow emits 'error' on socket failures; without a listener that would crash the agent.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (err) {
      client.close();
      throw classifyConnectError(err, settings);
    }
    fallbacks.connected(client.capabilities.keys());
    const imap = new DesktopImap(client, settings, fallbacks);
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
    return [...this.advertised].sort();
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
    let useQresync = this.supportsQresync && saved?.highestModseq != null;
    // imapflow 2.1.2 accepts these two options at run time but its type omits them.
    const options = useQresync && saved ? ({ uidValidity: BigInt(saved.uidValidity), changedSince: BigInt(saved.highestModseq!) } as object) : {};
    this.client.on('expunge', onExpunge);
    let mailbox: MailboxObject;
    try {
      mailbox = await this.client.mailboxOpen(this.path(role), options);
    } catch (err) {
      if (!useQresync || !this.fallbacks.refuses('qresync', err)) throw imapError(`SELECT ${this.path(role)}`, err);
      // The server advertised QRESYNC and refused SELECT (QRESYNC …): a plain SELECT, CONDSTORE from now on.
      mailbox = await this.client.mailboxOpen(this.path(role)).catch((plain: unknown) => Promise.reject(imapError(`SELECT ${this.path(role)}`, plain)));
      this.fallbacks.record('qresync', err);
      useQresync = false;
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
      return answering(list, SUMMARY_QUERY, (uid) => uid >= minUid).map(summaryOf);
    } catch (err) {
      if (changedSince) this.changedSinceRefused(err);
      throw imapError(`FETCH ${minUid}:*`, err);
    }
  }

  /**
   * A FETCH with CHANGEDSINCE (and, with QRESYNC, VANISHED) failed: if the
   * server refused it, the extension is dropped (QRESYNC first, then
   * CONDSTORE) and change detection starts again on the plainer path.
   */
  private changedSinceRefused(err: unknown): void {
    const path = this.client.enabled.has('QRESYNC') ? 'qresync' : 'condstore';
    if (!this.fallbacks.refuses(path, err)) return;
    this.fallbacks.record(path, err);
    throw new PathRefused(path, err);
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
      const page = new Set(sorted.slice(i, i + UIDS_PER_FETCH));
      let list: FetchMessageObject[];
      try {
        list = answering(await this.client.fetchAll(uidSet([...page]), query, { uid: true }), query, (uid) => page.has(uid));
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
      const query = { uid: true, flags: true };
      const list = answering(await this.client.fetchAll('1:*', query, { uid: true, changedSince: BigInt(modseq) }), query, () => true);
      return list.map((m) => ({ uid: m.uid, ...flagsOf(m) }));
    } catch (err) {
      this.changedSinceRefused(err);
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

  /** The server sorts (RFC 5256) and has not refused to: the INBOX's order can be asked for instead of listed. */
  get canSort(): boolean {
    return this.paths.order === 'sort';
  }

  /**
   * UIDs in the virtual order of docs/spec.md §2 — newest arrival first (SORT
   * REVERSE ARRIVAL: INTERNALDATE; ties by sequence, i.e. UID, reversed) —
   * of the messages since a UTC day, or of all. Only where `canSort`;
   * undefined when the server refused (remembered: `canSort` is false now).
   *
   * The charset is UTF-8 once UTF8=ACCEPT is enabled: RFC 6855 §3 allows no
   * other then, and stock Courier answers any other with BAD [BADCHARSET]
   * (issue 18, finding 11). (The criteria are ASCII either way.)
   */
  async sortedByArrival(role: FolderRole, since?: Date): Promise<number[] | undefined> {
    await this.ensureOpen(role);
    const criteria = since ? [{ type: 'ATOM', value: 'SINCE' }, { type: 'ATOM', value: imapDate(since) }] : [{ type: 'ATOM', value: 'ALL' }];
    const charset = this.client.enabled.has('UTF8=ACCEPT') ? 'UTF-8' : 'US-ASCII';
    const attributes = [[{ type: 'ATOM', value: 'REVERSE' }, { type: 'ATOM', value: 'ARRIVAL' }], { type: 'ATOM', value: charset }, ...criteria];
    const uids: number[] = [];
    // imapflow has no SORT command; its exec() (untyped) sends one and hands over the untagged answers.
    const exec = (this.client as unknown as { exec: ImapExec }).exec.bind(this.client);
    const sorted = await this.fallbacks.attempt('sort', `UID SORT in ${this.path(role)}`, async () => {
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
      return uids;
    });
    return sorted === REFUSED ? undefined : sorted;
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
    for (let i = 0; i < messageIds.length && this.paths.messageIds === 'search'; i += MESSAGE_IDS_PER_SEARCH) {
      const batch = messageIds.slice(i, i + MESSAGE_IDS_PER_SEARCH);
      const query = batch.length === 1 ? { header: { 'message-id': batch[0]! } } : { or: batch.map((id) => ({ header: { 'message-id': id } })) };
      const found = await this.fallbacks.attempt('searchHeader', `SEARCH HEADER Message-ID in ${this.path(role)}`, () => this.client.search(query, { uid: true }));
      if (found === REFUSED) break;
      for (const uid of found) uids.add(uid);
    }
    if (this.paths.messageIds === 'listing') return this.listMessageIds(role, messageIds);
    const summaries: DesktopSummary[] = [];
    await this.summariesOf(role, [...uids], (page) => summaries.push(...page));
    return summaries;
  }

  /**
   * The way back where SEARCH HEADER is refused: the folder's summaries, a
   * UID range at a time (so no answer holds more than a page), kept when
   * their Message-ID is one of these.
   */
  private async listMessageIds(role: FolderRole, messageIds: string[]): Promise<DesktopSummary[]> {
    const wanted = new Set(messageIds.map((id) => `mid:${id}`));
    const uidNext = await this.statusUidNext(role);
    await this.ensureOpen(role);
    const found: DesktopSummary[] = [];
    for (let from = 1; from < uidNext; from += UIDS_PER_FETCH) {
      let list: FetchMessageObject[];
      try {
        const to = Math.min(from + UIDS_PER_FETCH, uidNext) - 1;
        list = answering(await this.client.fetchAll(`${from}:${to}`, SUMMARY_QUERY, { uid: true }), SUMMARY_QUERY, (uid) => uid >= from && uid <= to);
      } catch (err) {
        throw imapError(`FETCH summaries in ${this.path(role)}`, err);
      }
      for (const m of list) {
        const summary = summaryOf(m);
        if (wanted.has(summary.fingerprint)) found.push(summary);
      }
    }
    return found;
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
    const query = { uid: true, source: true };
    const wanted = new Set(uids);
    let list: FetchMessageObject[];
    try {
      list = await this.client.fetchAll(uidSet(uids), query, { uid: true });
    } catch (err) {
      throw imapError(`FETCH BODY[] in ${this.path(role)}`, err);
    }
    for (const m of answering(list, query, (uid) => wanted.has(uid))) if (m.source) found.set(m.uid, m.source);
    return found;
  }

  /** The header block of one message (for a stand-in of one too large to fetch whole). */
  async headerBlock(role: FolderRole, uid: number): Promise<Buffer | undefined> {
    await this.ensureOpen(role);
    const m = await this.client.fetchOne(String(uid), { uid: true, headers: true }, { uid: true });
    return m ? m.headers : undefined;
  }

  /** One message's MIME structure (BODYSTRUCTURE) and header block, for the preview of one too large to fetch whole. */
  async structureOf(role: FolderRole, uid: number): Promise<{ structure: MessageStructureObject; header: Buffer } | undefined> {
    await this.ensureOpen(role);
    const m = await this.client.fetchOne(String(uid), { uid: true, bodyStructure: true, headers: true }, { uid: true });
    return m && m.uid === uid && m.bodyStructure && m.headers ? { structure: m.bodyStructure, header: m.headers } : undefined;
  }

  /** Sections of one message (`BODY.PEEK[1.MIME]`, `BODY.PEEK[2]`, …), by section name in lower case; a section not served is absent. */
  async sectionsOf(role: FolderRole, uid: number, sections: string[]): Promise<Map<string, Buffer>> {
    const found = new Map<string, Buffer>();
    if (sections.length === 0) return found;
    await this.ensureOpen(role);
    const m = await this.client.fetchOne(String(uid), { uid: true, bodyParts: sections }, { uid: true });
    if (!m || m.uid !== uid) return found;
    for (const [key, value] of m.bodyParts ?? []) found.set(key.toLowerCase(), value);
    return found;
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
    // .SILENT (RFC 3501 §6.4.6): the new flags are known; 1,000 FETCH answers would only be read and thrown away.
    if (add.length > 0 && !(await this.client.messageFlagsAdd(set, add, { uid: true, silent: true }))) throw imapError('STORE +FLAGS');
    if (remove.length > 0 && !(await this.client.messageFlagsRemove(set, remove, { uid: true, silent: true }))) throw imapError('STORE -FLAGS');
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
    const result = this.paths.move === 'move' ? await this.fallbacks.attempt('move', `MOVE to ${this.path(to)}`, () => this.client.messageMove(String(uid), this.path(to), { uid: true })) : REFUSED;
    if (result !== REFUSED) {
      moved = result.uidMap?.get(uid);
    } else {
      // No MOVE (or a refused one, which moved nothing): COPY, then an expunge of exactly that message.
      const copied = await this.client.messageCopy(String(uid), this.path(to), { uid: true });
      if (!copied) throw imapError(`COPY to ${this.path(to)}`, this.fallbacks.takeLastError());
      moved = copied.uidMap?.get(uid);
      await expungeExactly(this.client, this.fallbacks, [uid]);
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
    await expungeExactly(this.client, this.fallbacks, [uid]);
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
    const query = { uidValidity: true, uidNext: true, messages: true, highestModseq: true };
    // A server that refuses STATUS (… HIGHESTMODSEQ) has CONDSTORE in name only: changes by comparison from now on.
    const status = await this.fallbacks.attempt('condstore', `STATUS ${this.path(role)} (HIGHESTMODSEQ)`, () => this.client.status(this.path(role), query));
    if (status === REFUSED) return undefined;
    if (status.uidValidity === undefined || status.uidNext === undefined || status.messages === undefined) return undefined;
    return { uidValidity: String(status.uidValidity), highestModseq: status.highestModseq !== undefined ? String(status.highestModseq) : null, uidNext: status.uidNext, exists: status.messages };
  }

  async statusUidNext(role: ImapFolder): Promise<number> {
    const status = await this.client.status(this.path(role), { uidNext: true });
    if (!status || status.uidNext === undefined) throw imapError(`STATUS ${this.path(role)}`);
    return status.uidNext;
  }
}
