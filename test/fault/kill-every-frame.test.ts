/**
 * Kill at every step (issue 5, the way isync tests itself): a reference
 * scenario runs once uninterrupted to count the frames of the sync under test
 * and record the end state; then, for frame N, it runs again with the agent
 * killed (SIGKILL) after frame N, or the server killed after frame N, or the
 * TCP connection reset by a loopback proxy after the Nth TLS record (either
 * direction; every frame is one or more records); the processes are restarted, the agent syncs
 * until it completes, and the end state must equal the uninterrupted one: the
 * same mailboxes on both sides, nothing missing, nothing twice, every outgoing
 * message sent exactly once, nothing pending, both databases intact.
 *
 * `npm test` runs a sample of frames; `npm run soak` (TWINBOX_SOAK=1) runs
 * every frame of every reference scenario, including the 200-action one.
 */
import { describe, expect, it } from 'vitest';
import { LoopbackProxy, TwinboxSystem } from '@twinbox/testkit';
import { PATENT_EXAMPLE, SEND_VIA_SYNC, TWO_HUNDRED_ACTIONS, type Reference } from './reference-scenarios.js';
import { endState } from './state.js';

const SOAK = process.env.TWINBOX_SOAK === '1';
type Fault = 'agent' | 'server' | 'drop';
const FAULTS: Fault[] = ['agent', 'server', 'drop'];

/** A system whose agent reaches the server through a loopback proxy (for cutting the link from outside). */
async function startSystem(reference: Reference): Promise<{ system: TwinboxSystem; proxy: LoopbackProxy }> {
  const system = await TwinboxSystem.start({ window: reference.window });
  const proxy = await LoopbackProxy.start({ port: system.port }, 'tls-records');
  system.editAgentConfig((c) => (c.server.url = `wss://127.0.0.1:${proxy.port}/sync`));
  return { system, proxy };
}

async function interrupted(system: TwinboxSystem, proxy: LoopbackProxy, fault: Fault, point: number): Promise<void> {
  if (fault === 'drop') {
    proxy.cutAfter(point);
    const run = await system.runAgent();
    if (proxy.cuts !== 1) throw new Error(`the link was not cut at record ${point} (exit ${run.code})`);
    return;
  }
  const env = { TWINBOX_KILL_AFTER_FRAMES: String(point) };
  if (fault === 'server') {
    await system.stopServer();
    await system.startServer(env);
    await system.runAgent();
    await system.stopServer('SIGKILL');
    await system.startServer();
  } else {
    await system.runAgent([], env);
  }
}

async function syncUntilComplete(system: TwinboxSystem): Promise<void> {
  for (let attempt = 1; attempt <= 5; attempt++) {
    const run = await system.runAgent();
    if (run.code === 0) return;
    if (run.code !== 75) throw new Error(`sync failed (exit ${run.code ?? run.signal}): ${run.stderr}`);
    await new Promise((r) => setTimeout(r, 200 * attempt));
  }
  throw new Error('sync did not complete in 5 attempts');
}

/** Frames to interrupt at: all of them when soaking, else an even sample with both ends. */
function points(frames: number, sample: number): number[] {
  if (SOAK) return Array.from({ length: frames }, (_, i) => i + 1);
  const step = (frames - 1) / Math.max(1, sample - 1);
  return [...new Set(Array.from({ length: sample }, (_, i) => 1 + Math.round(i * step)))];
}

function campaign(reference: Reference, sample: number): void {
  describe(reference.name, () => {
    let baseline: Record<string, unknown> | undefined;
    let frames = 0;
    let records = 0;

    it('uninterrupted run (the reference)', async () => {
      const { system, proxy } = await startSystem(reference);
      try {
        await reference.prepare(system);
        proxy.resetUnits();
        const summary = await system.sync();
        frames = summary.wire.framesSent + summary.wire.framesReceived;
        records = proxy.units;
        baseline = await endState(system);
        console.log(`${reference.name}: the sync under test has ${frames} frames in ${records} TLS records`);
      } finally {
        await proxy.close();
        await system.stop();
      }
    });

    for (const fault of FAULTS) {
      it(`${fault === 'drop' ? 'connection reset by a loopback proxy after TLS record N' : `${fault} killed after frame N`}, restarted, synced: same end state`, async () => {
        expect(baseline, 'the reference run must pass first').toBeDefined();
        const tried: number[] = [];
        const unit = fault === 'drop' ? 'TLS records' : 'frames';
        const total = fault === 'drop' ? records : frames;
        for (const point of points(total, sample)) {
          const { system, proxy } = await startSystem(reference);
          try {
            await reference.prepare(system);
            await interrupted(system, proxy, fault, point);
            await syncUntilComplete(system);
            expect(await endState(system), `${fault} interrupted after ${point} of ${total} ${unit}`).toEqual(baseline);
            tried.push(point);
          } finally {
            await proxy.close();
            await system.stop();
          }
        }
        console.log(`${reference.name}: ${fault} interrupted after ${unit} ${tried.join(', ')} of ${total}: all converged`);
      });
    }
  });
}

describe.sequential('kill at every step', () => {
  campaign(PATENT_EXAMPLE, 3);
  campaign(SEND_VIA_SYNC, 2);
  if (SOAK) campaign(TWO_HUNDRED_ACTIONS, 0);
});
