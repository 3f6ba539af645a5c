/**
 * The observable end state of both mailboxes, for comparing a run that was
 * interrupted with one that was not: every folder on both sides, in order,
 * with flags; what left through the desktop SMTP server; and what is still
 * pending anywhere (nothing, once converged).
 */
import Database from 'better-sqlite3';
import { FOLDERS, labelOfRaw, type TwinboxSystem } from '@twinbox/testkit';

export interface EndState {
  desktop: Record<string, string[]>;
  phone: Record<string, string[]>;
  smtp: string[];
  pending: { agent: number; server: number };
  integrity: { agent: unknown; server: unknown };
}

export async function endState(system: TwinboxSystem): Promise<EndState> {
  const desktop: Record<string, string[]> = {};
  for (const folder of FOLDERS) desktop[folder] = (await system.desktop.list(folder)).map((m) => `${m.label}${m.seen ? '' : '*'}${m.flagged ? '!' : ''}`);
  const phone: Record<string, string[]> = {};
  for (const folder of ['inbox', 'trash', 'sent', 'outbox'] as const) {
    phone[folder] = (await system.phoneMessages(folder)).map((m) => `${m.label}${m.seen ? '' : '*'}${m.flagged ? '!' : ''}`);
  }
  const db = new Database(system.agentDatabase, { readonly: true });
  const agentPending = (db.prepare('SELECT COUNT(*) AS n FROM actions').get() as { n: number }).n;
  const integrity = db.pragma('integrity_check', { simple: true });
  db.close();
  return {
    desktop,
    phone,
    smtp: system.smtp.received.map((m) => labelOfRaw(m.raw) ?? '(unlabelled)').sort(),
    pending: { agent: agentPending, server: await system.store.actions.count('user1') },
    integrity: { agent: integrity, server: (await system.store.engine.get<{ integrity_check: string }>('PRAGMA integrity_check'))?.integrity_check },
  };
}

/**
 * Outgoing messages whose delivery the agent could not know: it was killed
 * while the message was on its way to the SMTP server. By design (docs/spec.md §10,
 * never twice) these are not sent again but held in the Outbox as failed,
 * "delivery state unknown", for the user to decide.
 */
export async function unknownDeliveries(system: TwinboxSystem): Promise<string[]> {
  const labels: string[] = [];
  for (const m of await system.phone().outbox()) {
    if (m.sendStatus === 'failed' && /state unknown/.test(m.sendError ?? '')) labels.push(labelOfRaw((await system.phone().raw(m.id))!) ?? '(unlabelled)');
  }
  return labels;
}

/** The state with these outgoing messages left out wherever they could be: Outbox, both Sent folders, SMTP. */
export function withoutMessages(state: EndState, labels: string[]): EndState {
  if (labels.length === 0) return state;
  const keep = (shown: string[]) => shown.filter((s) => !labels.includes(s.replace(/[*!]+$/, '')));
  return {
    ...state,
    desktop: { ...state.desktop, Sent: keep(state.desktop.Sent ?? []) },
    phone: { ...state.phone, sent: keep(state.phone.sent ?? []), outbox: keep(state.phone.outbox ?? []) },
    smtp: keep(state.smtp),
  };
}
