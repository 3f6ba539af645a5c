/**
 * The window invariant of docs/spec.md §2, checked on real state. Returns what is
 * wrong (empty when it holds): the phone Inbox must be exactly the first
 * min(W, |INBOX|) desktop INBOX messages in the virtual order, with equal
 * \Seen and \Flagged, each mapped by the agent to its desktop UID.
 */
import Database from 'better-sqlite3';
import type { TwinboxSystem } from './system.js';

export async function windowInvariantProblems(system: TwinboxSystem, window: number, unreadFirst = false): Promise<string[]> {
  const problems: string[] = [];
  const desktop = await system.desktop.list('INBOX', unreadFirst);
  const phone = await system.phoneMessages('inbox');
  const top = desktop.slice(0, window);
  const fmt = (l: { label: string; seen: boolean; flagged: boolean }[]) => l.map((m) => `${m.label}${m.seen ? '' : '*'}${m.flagged ? '!' : ''}`).join(' ');
  if (fmt(phone) !== fmt(top)) problems.push(`phone Inbox [${fmt(phone)}] is not the top ${window} of the desktop INBOX [${fmt(top)}] (* unread, ! flagged)`);
  const labels = desktop.map((m) => m.label);
  if (new Set(labels).size !== labels.length) problems.push(`a label appears twice in the desktop INBOX: ${labels.join(' ')}`);

  const db = new Database(system.agentDatabase, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare("SELECT phone_id AS phoneId, uid FROM mapping WHERE folder = 'inbox'").all() as { phoneId: number; uid: number }[];
    const byPhone = new Map(rows.map((r) => [r.phoneId, r.uid]));
    if (rows.length !== phone.length) problems.push(`the agent maps ${rows.length} Inbox messages, the phone has ${phone.length}`);
    for (const [i, p] of phone.entries()) {
      const expected = top[i]?.uid;
      if (byPhone.get(p.id) !== expected) problems.push(`phone message ${p.label} (ID ${p.id}) is mapped to UID ${byPhone.get(p.id)}, expected ${expected}`);
    }
  } finally {
    db.close();
  }
  return problems;
}
