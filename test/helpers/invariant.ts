/**
 * The window invariant of SPEC §2, checked on real state: the phone Inbox is
 * exactly the first min(W, |INBOX|) desktop INBOX messages in the same order
 * with equal \Seen and \Flagged; the agent's mapping pairs each of them with
 * the right phone ID; no label appears twice on either side.
 */
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import type { TwinboxSystem } from '@twinbox/testkit';

export async function expectWindowInvariant(system: TwinboxSystem, window: number): Promise<void> {
  const desktop = await system.desktop.list('INBOX');
  const phone = system.phone().inbox();
  const top = desktop.slice(0, window);
  expect(phone.map((m) => m.subject)).toEqual(top.map((m) => m.label));
  expect(phone.map((m) => [m.seen, m.flagged])).toEqual(top.map((m) => [m.seen, m.flagged]));
  expect(new Set(desktop.map((m) => m.label)).size).toBe(desktop.length);

  const db = new Database(system.agentDatabase, { readonly: true });
  try {
    const rows = db.prepare("SELECT phone_id AS phoneId, uid FROM mapping WHERE folder = 'inbox'").all() as { phoneId: number; uid: number }[];
    const byPhone = new Map(rows.map((r) => [r.phoneId, r.uid]));
    expect(rows.length).toBe(phone.length);
    for (const [i, p] of phone.entries()) expect(byPhone.get(p.id), `mapping of ${p.subject}`).toBe(top[i]!.uid);
  } finally {
    db.close();
  }
}

export function agentRows<T>(system: TwinboxSystem, sql: string): T[] {
  const db = new Database(system.agentDatabase, { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}
