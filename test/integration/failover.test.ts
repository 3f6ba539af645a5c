/**
 * Failover (issue 22; docs/scaling.md): two server nodes on one PostgreSQL
 * database behind HAProxy, real processes. Node A is killed (SIGKILL, by
 * the server's own TWINBOX_KILL_AFTER_FRAMES) in the middle of an initial
 * sync that goes through it; the agent syncs again through HAProxy, which
 * now sends it to node B; node B takes the account once node A's sync lease
 * has expired (cluster.leaseSeconds: 5 here) and the sync converges —
 * every message on both sides, none lost, none twice.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ServerNode, TwinboxSystem, freePort, startHaproxy, startPostgres, type Haproxy, type Postgres } from '@twinbox/testkit';

const LEASE_SECONDS = 5;

describe('failover between two nodes behind HAProxy', () => {
  let pg: Postgres | undefined;
  let system: TwinboxSystem | undefined;
  let haproxy: Haproxy | undefined;
  const nodes: ServerNode[] = [];
  afterAll(async () => {
    for (const node of nodes) await node.stop().catch(() => undefined);
    await haproxy?.stop();
    await system?.stop();
    await pg?.stop();
  });

  it('a node killed mid-sync loses nothing: the agent converges through the other node once the lease is gone', async () => {
    pg = await startPostgres();
    system = await TwinboxSystem.start({ window: 40, storeUrl: (await pg.createDatabase()).url });
    // The system's own server made the schema and the account; the two nodes serve from here on.
    await system.stopServer();
    const config = join(system.serverDir, 'config.json');
    const nodeConfig = (name: string) => (c: Record<string, any>) => {
      c.cluster = { nodeName: name, leaseSeconds: LEASE_SECONDS };
      delete c.smtp;
    };
    // Node A dies at its 40th frame: inside the initial sync of 30 messages (each a frame and its ack).
    const a = await ServerNode.start({ config, name: 'a', edit: nodeConfig('node-a'), env: { TWINBOX_KILL_AFTER_FRAMES: '40' } });
    nodes.push(a);
    const portB = await freePort();
    haproxy = await startHaproxy([a.port, portB], { checkIntervalMs: 300 });
    // B is not running yet: HAProxy sends the first sync to A.
    await haproxy.waitForNode(portB, false, 10_000);
    system.editAgentConfig((c) => (c.server.url = haproxy!.syncUrl));

    for (let i = 1; i <= 30; i++) await system.desktop.deliver({ label: `D${i}`, date: new Date(Date.UTC(2026, 11, 1, 8, i)) });
    await system.openStore();
    await system.phoneDeliver({ label: 'P1', date: new Date(Date.UTC(2026, 11, 1, 9, 0)) });

    const first = await system.runAgent();
    expect(first.code, first.stderr).not.toBe(0);
    await expect.poll(() => a.running, { timeout: 10_000 }).toBe(false);

    const b = await ServerNode.start({ config, name: 'b', port: portB, edit: nodeConfig('node-b') });
    nodes.push(b);
    await haproxy.waitForNode(a.port, false, 10_000);
    await haproxy.waitForNode(portB, true, 10_000);

    // Until node A's lease has expired, node B answers BUSY (retryable); then the sync runs through B.
    const codes: (number | null)[] = [];
    const deadline = Date.now() + (LEASE_SECONDS + 30) * 1000;
    for (;;) {
      const run = await system.runAgent();
      codes.push(run.code);
      if (run.code === 0) break;
      expect(run.code, run.stderr).toBe(75);
      if (Date.now() > deadline) throw new Error(`no sync through node B: exit codes ${codes.join(', ')}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    console.log(`failover: exit codes through node B until it took the account: ${codes.join(', ')}`);
    // One more: nothing left to do on either side.
    await system.sync();

    const desktop = (await system.desktop.list('INBOX')).map((m) => m.label).sort();
    const phone = (await system.phoneLabels('inbox')).sort();
    const all = [...Array.from({ length: 30 }, (_, i) => `D${i + 1}`), 'P1'].sort();
    expect(desktop).toEqual(all);
    expect(phone).toEqual(all);
    expect((await system.store.actions.count('user1'))).toBe(0);
  });
});
