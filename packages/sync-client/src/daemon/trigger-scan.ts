/**
 * The trigger scan on the desktop watcher's connection (docs/spec.md §8,
 * patent FIG. 11B): every INBOX message carrying the trigger header is
 * checked; a valid one has its nonce recorded, is expunged for good (only
 * that message) and asks for a sync; an invalid, expired or replayed one is
 * left where it is, as ordinary mail. Where SEARCH HEADER is refused, the
 * messages that arrived within a trigger's lifetime are looked at instead,
 * each once per connection.
 */
import type { ImapFlow } from 'imapflow';
import { TRIGGER_HEADER, TRIGGER_LIFETIME_MS, parseHeaderFields, type Logger } from '@twinbox/protocol';
import { expungeExactly, uidSet } from '../imap/expunge.js';
import { REFUSED, type ImapFallbacks } from '../imap/fallbacks.js';
import { sinceDayFor } from '../phases/window-floor.js';
import type { AgentStore } from '../store/agent-store.js';
import type { TriggerCheck } from '../triggers.js';

const HEADER = TRIGGER_HEADER.toLowerCase();

export class TriggerScan {
  /** Where SEARCH HEADER is refused: the next UID to look at (0: the first scan on this connection). */
  private lookedBelow = 0;

  constructor(
    private readonly triggers: { check: TriggerCheck; onTrigger: () => void },
    private readonly store: AgentStore,
    private readonly log: Logger,
    /** Runs the watcher's own expunge: the EXPUNGE and FETCH it causes are no desktop change. */
    private readonly ownExpunge: (expunge: () => Promise<void>) => Promise<void>,
  ) {}

  /** A new connection: look at everything again. */
  reset(): void {
    this.lookedBelow = 0;
  }

  /**
   * UIDs that may be trigger e-mails: those carrying the header (SEARCH
   * HEADER), or where the server refuses that search, every message that
   * arrived within a trigger's lifetime (SEARCH SINCE compares by date, so a
   * day more), each looked at once per connection (`lookAt`: from where the
   * next scan looks, once this one is done).
   */
  private async candidates(client: ImapFlow, fallbacks: ImapFallbacks): Promise<{ uids: number[]; lookAt: number }> {
    if (!fallbacks.refused('searchHeader')) {
      const found = await fallbacks.attempt('searchHeader', 'SEARCH HEADER in INBOX', () => client.search({ header: { [HEADER]: '' } }, { uid: true }));
      if (found !== REFUSED) return { uids: found, lookAt: this.lookedBelow };
    }
    const recent = await client.search({ since: new Date(sinceDayFor(Date.now() - TRIGGER_LIFETIME_MS)) }, { uid: true });
    if (!recent) throw fallbacks.takeLastError() ?? new Error('SEARCH SINCE failed');
    return { uids: recent.filter((uid) => uid >= this.lookedBelow), lookAt: recent.reduce((next, uid) => Math.max(next, uid + 1), this.lookedBelow) };
  }

  /** Look at every message carrying the trigger header (catches triggers that arrived while the agent was down). */
  async scan(client: ImapFlow, fallbacks: ImapFallbacks): Promise<void> {
    const triggers = this.triggers;
    const { uids, lookAt } = await this.candidates(client, fallbacks);
    if (uids.length === 0) return;
    let fired = false;
    for (const m of await client.fetchAll(uidSet(uids), { uid: true, headers: [HEADER] }, { uid: true })) {
      const value = parseHeaderFields(m.headers?.toString('latin1') ?? '').get(HEADER);
      if (!value) continue;
      const verdict = triggers.check.ours(value);
      if (!verdict.valid) {
        this.log.info('desktop watcher: ignoring a trigger e-mail', { uid: m.uid, reason: verdict.reason });
        continue;
      }
      // A nonce already taken: a trigger whose expunge did not finish (we died, or it failed). Remove it; no second sync.
      const fresh = triggers.check.verdict(value).valid;
      // Record the nonce first: if we die before the expunge, the next scan removes it without a second sync.
      if (fresh) this.store.transaction(() => this.store.recordNonce(verdict.claims.nonce, verdict.claims.expires));
      // Only this message: a plain EXPUNGE would also remove what the user merely marked \Deleted (issue 10),
      // and never while the sync expunges on its own connection (expunge.ts, issue 18).
      await this.ownExpunge(() => expungeExactly(client, fallbacks, [m.uid]));
      this.store.transaction(() => this.store.nonceRemoved(verdict.claims.nonce));
      if (fresh) fired = true;
    }
    this.lookedBelow = lookAt;
    if (fired) triggers.onTrigger();
  }
}
