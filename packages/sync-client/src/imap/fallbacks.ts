/**
 * Every IMAP command has a way back (issue 18, finding 11). A server may
 * advertise a capability and still refuse a command that uses it (stock
 * Courier advertises SORT and, once UTF8=ACCEPT is enabled, answers a SORT in
 * US-ASCII with `BAD [BADCHARSET]`; with IMAP_DISABLETHREADSORT it answers
 * every SORT with `NO This command is disabled by the system administrator`).
 * Each command the agent issues because of an advertised capability has a
 * plain path it falls back to, at once and in the same sync:
 *
 *   path          the command the server refused                 the way back
 *   sort          UID SORT (REVERSE ARRIVAL)                     arrival times listed (SEARCH SINCE, FETCH INTERNALDATE)
 *   qresync       SELECT (QRESYNC …), FETCH (… VANISHED)         CONDSTORE: CHANGEDSINCE and a count check
 *   condstore     FETCH (CHANGEDSINCE …), STATUS (HIGHESTMODSEQ) the tracked messages' flags compared
 *   move          UID MOVE                                       COPY, then an expunge of exactly that message
 *   uidExpunge    UID EXPUNGE                                    the user's other \Deleted marks off, EXPUNGE, marks back
 *   searchHeader  UID SEARCH HEADER                              header fields fetched and compared here
 *   idle          IDLE                                           polling every imap.pollSeconds
 *   notify        NOTIFY SET (RFC 5465)                          Trash's changes found by polling every imap.pollSeconds
 *
 * ESEARCH, LIST-EXTENDED/SPECIAL-USE return options and ENABLE have their way
 * back inside imapflow (it sends no ESEARCH form unless asked, retries LIST
 * without the options, and carries on without what ENABLE refused).
 *
 * A refusal is the server's tagged NO or BAD to that command, except a NO with
 * an RFC 5530 code that says "not now" or "not this message" (UNAVAILABLE,
 * INUSE, LIMIT, OVERQUOTA, TRYCREATE, NONEXISTENT, …) and imapflow's throttle.
 * A connection that fails is no refusal: it stays a retryable error and
 * disables nothing.
 *
 * Refusals are remembered in the agent's database per server (user@host:port)
 * with the capabilities the server advertised then, so the next sync does not
 * pay the failure again. When the server advertises something else (an
 * upgrade, a new configuration) the memory is dropped, and an entry older than
 * REPROBE_AFTER_MS is tried again (a NO that was only "not now" after all).
 */
import type { Logger as ImapLogger } from 'imapflow';
import { TwinboxError } from '@twinbox/protocol';

export type FallbackPath = 'sort' | 'qresync' | 'condstore' | 'move' | 'uidExpunge' | 'searchHeader' | 'idle' | 'notify';

/** What each path is, for `doctor`, `status` and the log. */
export const FALLBACKS: Record<FallbackPath, { command: string; instead: string; match: RegExp }> = {
  sort: { command: 'UID SORT', instead: 'the INBOX order from listed arrival times', match: /\bSORT\b/i },
  qresync: { command: 'QRESYNC (SELECT … QRESYNC, FETCH … VANISHED)', instead: 'changes by CONDSTORE (CHANGEDSINCE and a count check)', match: /\b(SELECT|EXAMINE|FETCH)\b/i },
  condstore: { command: 'CONDSTORE (FETCH … CHANGEDSINCE, STATUS … HIGHESTMODSEQ)', instead: "changes by comparing the tracked messages' flags", match: /\b(FETCH|STATUS)\b/i },
  move: { command: 'UID MOVE', instead: 'COPY, then an expunge of exactly that message', match: /\bMOVE\b/i },
  uidExpunge: { command: 'UID EXPUNGE', instead: "removals that take the user's other \\Deleted marks off, EXPUNGE, and put them back", match: /\bEXPUNGE\b/i },
  searchHeader: { command: 'UID SEARCH HEADER', instead: 'header fields fetched and compared by the agent', match: /\bSEARCH\b/i },
  idle: { command: 'IDLE', instead: 'trigger e-mails and desktop changes found by polling every imap.pollSeconds', match: /\bIDLE\b/i },
  notify: { command: 'NOTIFY', instead: 'changes in Trash found by polling every imap.pollSeconds', match: /\bNOTIFY\b/i },
};

/** A remembered refusal is tried again after this long (a week). */
export const REPROBE_AFTER_MS = 7 * 24 * 3600 * 1000;

/** RFC 5530 (and RFC 3501/4315) codes on a NO that are about the moment or the message, not the command. */
const NOT_A_REFUSAL = new Set([
  'UNAVAILABLE', 'INUSE', 'LIMIT', 'OVERQUOTA', 'EXPUNGEISSUED', 'TRYCREATE', 'NONEXISTENT', 'ALREADYEXISTS',
  'NOPERM', 'AUTHENTICATIONFAILED', 'AUTHORIZATIONFAILED', 'EXPIRED', 'PRIVACYREQUIRED', 'CONTACTADMIN', 'CORRUPTION', 'ALERT',
]);

interface CommandError {
  responseStatus?: string;
  serverResponseCode?: string;
  responseText?: string;
  executedCommand?: string;
  code?: string;
  response?: unknown;
}

/** The response code of a failed command (`[BADCHARSET]` → BADCHARSET), whether or not imapflow extracted it. */
function responseCode(err: CommandError): string | undefined {
  if (err.serverResponseCode) return err.serverResponseCode.toUpperCase();
  const section = (err.response as { attributes?: { section?: { value?: unknown }[] }[] } | undefined)?.attributes?.[0]?.section;
  const value = section?.[0]?.value;
  return typeof value === 'string' ? value.toUpperCase() : undefined;
}

/** Did the server refuse the command itself (a tagged NO or BAD about the command), as opposed to failing to answer? */
export function isRefusal(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as CommandError;
  if (e.code === 'ETHROTTLE') return false;
  if (e.responseStatus === 'BAD') return true;
  if (e.responseStatus !== 'NO') return false;
  const code = responseCode(e);
  return code === undefined || !NOT_A_REFUSAL.has(code);
}

/** The server's answer as a line (`BAD [BADCHARSET] Only UTF-8 …`), and the command it answered, without its tag. */
export function describeRefusal(err: unknown): { command: string; response: string } {
  const e = (err ?? {}) as CommandError;
  const code = responseCode(e);
  const response = `${e.responseStatus ?? '?'}${code ? ` [${code}]` : ''}${e.responseText ? ` ${e.responseText}` : ''}`;
  const command = (e.executedCommand ?? '').replace(/^\S+\s+/, '').slice(0, 200);
  return { command, response: response.slice(0, 300) };
}

export interface StoredRefusal {
  path: FallbackPath;
  /** What the server advertised when it refused (sorted, space-separated). */
  capabilities: string;
  command: string;
  response: string;
  at: number;
}

/** Where refusals are kept between syncs: the agent store (store/agent-store.ts). */
export interface RefusalMemory {
  refusals(server: string): StoredRefusal[];
  recordRefusal(server: string, refusal: StoredRefusal): void;
  /** Forget what this server refused under capabilities other than these. */
  forgetRefusals(server: string, unlessCapabilities: string): void;
}

/** An in-process memory, for a connection made without the agent's database (tests, `pair`). */
export function transientMemory(): RefusalMemory {
  const rows = new Map<string, StoredRefusal>();
  return {
    refusals: (server) => [...rows.entries()].filter(([key]) => key.startsWith(`${server}\n`)).map(([, r]) => r),
    recordRefusal: (server, refusal) => void rows.set(`${server}\n${refusal.path}`, refusal),
    forgetRefusals: (server, caps) => {
      for (const [key, r] of rows) if (key.startsWith(`${server}\n`) && r.capabilities !== caps) rows.delete(key);
    },
  };
}

/**
 * Thrown where the plain path is a different procedure the caller must run
 * from its start (change detection: CHANGEDSINCE refused half-way through the
 * CONDSTORE path). The refusal is remembered by then; still an IMAP error,
 * retryable, for a caller that does not catch it.
 */
export class PathRefused extends TwinboxError {
  constructor(readonly path: FallbackPath, cause: unknown) {
    super('IMAP', `the IMAP server refused ${FALLBACKS[path].command}: ${FALLBACKS[path].instead} from now on`, { cause });
    this.name = 'PathRefused';
  }
}

/** Returned by `attempt` when the server refused: the caller takes the plain path. */
export const REFUSED = Symbol('refused');

/**
 * The refusals of one IMAP server, as one connection sees them. It also
 * catches the errors imapflow logs and turns into `false` (MOVE, EXPUNGE,
 * STATUS …): its `logger` goes into the connection's options, and `attempt`
 * reads what the failed command was answered.
 */
export class ImapFallbacks {
  private capabilities = '';
  private lastError: unknown;
  private readonly listeners: ((refusal: StoredRefusal) => void)[] = [];
  readonly logger: ImapLogger;

  constructor(
    /** user@host:port: which server and mailbox. */
    readonly server: string,
    private readonly memory: RefusalMemory = transientMemory(),
    private readonly now: () => number = Date.now,
  ) {
    const keep = (entry: unknown) => {
      const err = (entry as { err?: unknown } | undefined)?.err;
      if (err) this.lastError = err;
    };
    const quiet = () => undefined;
    // Only warn and above reach it: imapflow asks before building its (costly) debug entries.
    const logger = { trace: quiet, debug: quiet, info: quiet, warn: keep, error: keep, fatal: keep, isLevelEnabled: (level: string) => ['warn', 'error', 'fatal'].includes(level) };
    this.logger = logger;
  }

  /** Hear each new refusal (to log it, to choose the paths again). */
  onRefusal(listener: (refusal: StoredRefusal) => void): this {
    this.listeners.push(listener);
    return this;
  }

  static serverOf(settings: { user: string; host: string; port: number }): string {
    return `${settings.user}@${settings.host}:${settings.port}`;
  }

  /** The connection is up: what the server advertises now; what it refused under other capabilities is forgotten. */
  connected(capabilities: Iterable<string>): void {
    this.capabilities = [...capabilities].map((c) => c.toUpperCase()).sort().join(' ');
    this.memory.forgetRefusals(this.server, this.capabilities);
  }

  /** The remembered refusals that still hold (not older than REPROBE_AFTER_MS). */
  list(): StoredRefusal[] {
    const since = this.now() - REPROBE_AFTER_MS;
    return this.memory.refusals(this.server).filter((r) => r.at >= since && (this.capabilities === '' || r.capabilities === this.capabilities));
  }

  refused(path: FallbackPath): boolean {
    return this.list().some((r) => r.path === path);
  }

  /** Is `err` the server refusing the command of `path` (not another command on the way, not a lost connection)? */
  refuses(path: FallbackPath, err: unknown): boolean {
    const command = (err as CommandError | undefined)?.executedCommand;
    return isRefusal(err) && (command === undefined || FALLBACKS[path].match.test(command));
  }

  /** Remember that the server refused `path` (err: its answer). */
  record(path: FallbackPath, err: unknown): StoredRefusal {
    const refusal: StoredRefusal = { path, capabilities: this.capabilities, ...describeRefusal(err), at: this.now() };
    this.memory.recordRefusal(this.server, refusal);
    for (const listener of this.listeners) listener(refusal);
    return refusal;
  }

  /**
   * Run a command that depends on `path`: its result, or REFUSED when the
   * server refused it (then remembered). `run` may throw, or return false as
   * imapflow does (the error it logged says why). Anything that is not a
   * refusal — a lost connection, a throttle, a NO [UNAVAILABLE] — throws a
   * TwinboxError('IMAP', retryable) naming `what`. `remember: false` for a
   * command whose arguments a phone chose (reach/): a refusal of those
   * arguments says nothing about the server, and must not change how every
   * sync works from then on.
   */
  async attempt<T>(path: FallbackPath, what: string, run: () => Promise<T | false | undefined>, options: { remember?: boolean } = {}): Promise<T | typeof REFUSED> {
    this.lastError = undefined;
    let failure: unknown;
    try {
      const result = await run();
      if (result !== false && result !== undefined) return result;
      failure = this.lastError;
    } catch (err) {
      failure = err;
    }
    if (this.refuses(path, failure)) {
      if (options.remember !== false) this.record(path, failure);
      return REFUSED;
    }
    const said = failure instanceof Error ? `: ${failure.message}` : '';
    throw new TwinboxError('IMAP', `IMAP ${what} failed${said}`, { cause: failure });
  }

  /** The error imapflow last logged on this connection (for a command that returned false outside `attempt`). */
  takeLastError(): unknown {
    const err = this.lastError;
    this.lastError = undefined;
    return err;
  }
}

/** One line per refusal, for `doctor` and `status`. */
export function describeFallbacks(refusals: StoredRefusal[]): string[] {
  return refusals.map((r) => `${FALLBACKS[r.path].command} refused on ${new Date(r.at).toISOString()} ("${r.response}"): ${FALLBACKS[r.path].instead}`);
}
