/**
 * Issue 9.1, the upgrade path: an installation paired under identity scheme
 * 1 (fingerprint only; server schema 3) keeps working under scheme 2. Its
 * server database is brought to schema 3 exactly as the previous release left
 * it (raw SQL on purpose: this is the old release's shape, not a production
 * path); the new server migrates it (content digests for every stored
 * message). Then:
 *
 * - with the agent's database intact, sync goes on as an update and every
 *   mapping is kept;
 * - with the agent's database lost, the next initial sync pairs every phone
 *   message with its desktop copy: nothing appended, nothing duplicated.
 */
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentStore } from '@twinbox/sync-client';
import { TwinboxSystem } from '@twinbox/testkit';

function downgradeToSchema3(path: string): void {
  const db = new Database(path);
  try {
    db.exec(`
      DROP TABLE cluster_nodes; DROP TABLE cluster_jobs; DROP TABLE login_failures;
      DROP TABLE sync_leases;
      DROP TABLE reach_cache_chunks;
      DROP TABLE reach_cache;
      DROP TABLE agent_presence;
      DROP TABLE push_subscriptions;
      DROP TABLE signin_codes;
      DROP TABLE device_sessions;
      DROP TABLE api_requests;
      DROP TABLE quarantine;
      ALTER TABLE devices DROP COLUMN last_seen_at;
      ALTER TABLE messages DROP COLUMN held_parts;
      ALTER TABLE messages DROP COLUMN preview;
      ALTER TABLE messages DROP COLUMN folder_since;
      ALTER TABLE messages DROP COLUMN content_digest;
      ALTER TABLE server_actions DROP COLUMN folder;
      ALTER TABLE server_actions DROP COLUMN fingerprint;
      ALTER TABLE server_actions DROP COLUMN digest;
      ALTER TABLE sync_state DROP COLUMN initial_through_seq;
      PRAGMA user_version = 3;
    `);
  } finally {
    db.close();
  }
}

function mappingRows(system: TwinboxSystem): string[] {
  const agent = AgentStore.open(system.agentDatabase);
  try {
    return agent.mappings().map((m) => `${m.phoneId}:${m.folder}`).sort();
  } finally {
    agent.close();
  }
}

async function pairedUnderScheme1(): Promise<TwinboxSystem> {
  const system = await TwinboxSystem.start({ window: 3 });
  for (const [i, label] of ['M1', 'M2', 'M3'].entries()) await system.desktop.deliver({ label, date: new Date(Date.UTC(2026, 9, 1 + i)) });
  await system.phoneReceive({ label: 'P1' });
  await system.sync();
  await system.phone().trash(await system.phoneId('M2'));
  await system.sync();
  await system.closeStore();
  await system.stopServer();
  downgradeToSchema3(join(system.serverDir, 'twinbox.db'));
  await system.startServer();
  return system;
}

describe('identity scheme 1 → 3', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  it('identity-migration-keeps-mappings: the migrated server goes on with an update sync; every mapping is kept', async () => {
    system = await pairedUnderScheme1();
    const before = mappingRows(system);
    expect(before).toHaveLength(4);
    // Migrated through every schema since: the digests are identity scheme 3's (c2:).
    expect((await system.store.messages.list('user1', 'inbox')).every((m) => /^c2:[0-9a-f]{64}$/.test(m.digest))).toBe(true);
    const summary = await system.sync();
    expect([summary.mode, summary.agentActions, summary.serverActions, summary.insertedOnDesktop]).toEqual(['update', 0, 0, 0]);
    expect(mappingRows(system)).toEqual(before);
  });

  it('identity-migration-no-duplicates: after the agent loses its database, the initial sync pairs every message again', async () => {
    system = await pairedUnderScheme1();
    const phoneBefore = [...(await system.phoneMessages('inbox')), ...(await system.phoneMessages('trash'))].map((m) => `${m.id}:${m.label}`).sort();
    rmSync(system.agentDatabase, { force: true });
    const summary = await system.sync();
    expect([summary.mode, summary.insertedOnDesktop]).toEqual(['initial', 0]);
    expect(await system.desktop.labels()).toEqual(['P1', 'M3', 'M1']);
    expect(await system.desktop.labels('Trash')).toEqual(['M2']);
    expect([...(await system.phoneMessages('inbox')), ...(await system.phoneMessages('trash'))].map((m) => `${m.id}:${m.label}`).sort()).toEqual(phoneBefore);
    expect(mappingRows(system)).toHaveLength(4);
  });
});
