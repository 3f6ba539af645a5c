import type { AccountOptions, Logger } from '@twinbox/protocol';
import type { DesktopImap } from '../imap/desktop-imap.js';
import type { DesktopSmtp } from '../smtp.js';
import type { TriggerCheck } from '../triggers.js';
import type { ProgressSink } from '../progress.js';
import type { SyncQuarantine } from './quarantine.js';
import type { AgentStore } from '../store/agent-store.js';
import type { SyncConnection } from '../transport/connection.js';

/** Counters of one sync, reported by `twinbox-agent sync` and recorded on both sides. */
export interface SyncCounters {
  agentActions: number;
  serverActions: number;
  unmapped: number;
  pulled: number;
  insertedOnDesktop: number;
}

/** What every phase of a session works with. */
export interface SyncContext {
  store: AgentStore;
  imap: DesktopImap;
  conn: SyncConnection;
  options: AccountOptions;
  log: Logger;
  counters: SyncCounters;
  /** The desktop's SMTP server, when configured: outgoing mail the phone sends via sync. */
  smtp: DesktopSmtp | undefined;
  /** Recognises live trigger e-mails, which the sync leaves alone. */
  triggers: TriggerCheck;
  /** Phone IDs the server answered "gone" for in this session. */
  gone: Set<number>;
  /** How far a long step has come (progress.ts). */
  progress: ProgressSink;
  /** Actions failing for reasons of their message: deferred, then set aside (quarantine.ts). */
  quarantine: SyncQuarantine;
}
