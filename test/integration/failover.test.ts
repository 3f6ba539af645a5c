/**
 * Failover (issue 22; docs/scaling.md): two server nodes on one PostgreSQL
 * database behind HAProxy, real processes. Node A is killed (SIGKILL, by
 * the server's own TWINBOX_KILL_AFTER_FRAMES) in the middle of an initial
 * sync that goes through it; the agent syncs again through HAProxy, which
 * now sends it to node B; node B takes the account once node A's sync lease
 * has expired (cluster.leaseSeconds: 5 here) and the sync converges —
 * every message on both sides, none lost, none twice.
 *
 * Where node A dies is sampled: `npm test` tries one kill point of
 * KILL_POINTS (chosen by TWINBOX_SEED, printed), `npm run soak -- --only
 * failover` (TWINBOX_SOAK=1) every one — from the first frames of the
 * initial sync to its last pages.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ServerNode, TwinboxSystem, freePort, startHaproxy, startPostgres, type Haproxy, type Postgres } from '@twinbox/testkit';

const LEASE_SECONDS = 5;
/** Frames node A takes before it is killed: the initial sync of 30 messages (each a frame and its ack) and a phone message. */
const KILL_POINTS = [5, 15, 25, 40, 55];
const SEED = Number(process.env.TWINBOX_SEED ?? Date.now() % 100_000);
const points = process.env.TWINBOX_SOAK ? KILL_POINTS : [KILL_POINTS[SEED % KILL_POINTS.length]!];
if (!process.env.TWINBOX_SOAK) console.log(`failover: kill point ${points[0]} of ${KILL_POINTS.join(', ')} (TWINBOX_SEED=${SEED})`);

describe('failover between two nodes behind HAProxy', () => {
  let pg: Postgres | undefined;
  let system: TwinboxSystem | undefined;
  let haproxy: Haproxy | undefined;
  const nodes: ServerNode[] = [];
  afterEach(async () => {
    for (const node of nodes.splice(0)) await node.stop().catch(() => undefined);
    await haproxy?.stop();
    await system?.stop();
    await pg?.stop();
    haproxy = system = pg = undefined;
  });

  it.each(points)('a node killed after %i frames of a sync loses nothing: the agent converges through the other node once the lease is gone', async (killAfter) => {
    pg = await startPostgres();
    system = await TwinboxSystem.start({ window: 40, storeUrl: (await pg.createDatabase()).url });
    // The system's own server made the schema and the account; the two nodes serve from here on.
    await system.stopServer();
    const config = join(system.serverDir, 'config.json');
    const nodeConfig = (name: string) => (c: Record<string, any>) => {
      c.cluster = { nodeName: name, leaseSeconds: LEASE_SECONDS };
      delete c.smtp;
    };
    // Node A dies at frame `killAfter`: inside the initial sync of 30 messages.
    const a = await ServerNode.start({ config, name: 'a', edit: nodeConfig('node-a'), env: { TWINBOX_KILL_AFTER_FRAMES: String(killAfter) } });
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
