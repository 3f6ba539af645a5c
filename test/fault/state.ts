/**
 * The observable end state of both mailboxes, for comparing a run that was
 * interrupted with one that was not: every folder on both sides, in order,
 * with flags; what left through the desktop SMTP server; and what is still
 * pending anywhere (nothing, once converged).
 */
import Database from 'better-sqlite3';
import { FOLDERS, labelOfRaw, type TwinboxSystem } from '@twinbox/testkit';

export async function endState(system: TwinboxSystem): Promise<Record<string, unknown>> {
  const desktop: Record<string, string[]> = {};
  for (const folder of FOLDERS) desktop[folder] = (await system.desktop.list(folder)).map((m) => `${m.label}${m.seen ? '' : '*'}${m.flagged ? '!' : ''}`);
  const phone: Record<string, string[]> = {};
  for (const folder of ['inbox', 'trash', 'sent', 'outbox'] as const) {
    phone[folder] = system.phoneMessages(folder).map((m) => `${m.label}${m.seen ? '' : '*'}${m.flagged ? '!' : ''}`);
  }
  const db = new Database(system.agentDatabase, { readonly: true });
  const agentPending = (db.prepare('SELECT COUNT(*) AS n FROM actions').get() as { n: number }).n;
  const integrity = db.pragma('integrity_check', { simple: true });
  db.close();
  return {
    desktop,
    phone,
    smtp: system.smtp.received.map((m) => labelOfRaw(m.raw)).sort(),
    pending: { agent: agentPending, server: system.store.actions.count('user1') },
    integrity: { agent: integrity, server: system.store.db.pragma('integrity_check', { simple: true }) },
  };
}
