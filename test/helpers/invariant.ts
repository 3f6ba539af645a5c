/** Test-side wrappers over the testkit's state checks. */
import Database from 'better-sqlite3';
import { expect } from 'vitest';
import { windowInvariantProblems, type TwinboxSystem } from '@twinbox/testkit';

export async function expectWindowInvariant(system: TwinboxSystem, window: number, unreadFirst = false): Promise<void> {
  expect(await windowInvariantProblems(system, window, unreadFirst)).toEqual([]);
}

export function agentRows<T>(system: TwinboxSystem, sql: string): T[] {
  const db = new Database(system.agentDatabase, { readonly: true });
  try {
    return db.prepare(sql).all() as T[];
  } finally {
    db.close();
  }
}

/** A desktop message by label, in one folder. */
export async function desktopMessage(system: TwinboxSystem, label: string, folder: 'INBOX' | 'Trash' = 'INBOX') {
  return (await system.desktop.list(folder)).find((m) => m.label === label);
}
