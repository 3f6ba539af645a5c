/**
 * Kill at every step (issue 5, the way isync tests itself): a reference
 * scenario runs once uninterrupted to count the frames of the sync under test
 * and record the end state; then, for frame N, it runs again with the agent
 * killed (SIGKILL) after frame N, or the server killed after frame N, or the
 * sync connection reset by a loopback proxy after the Nth TLS record (either
 * direction; every frame is one or more records), or the agent's IMAP
 * connection reset after the Nth line it sent and Dovecot restarted (the IMAP
 * server going down in the middle of a sync); the processes are restarted,
 * the agent syncs until it completes, and the end state must equal the uninterrupted one: the
 * same mailboxes on both sides, nothing missing, nothing twice, every outgoing
 * message sent exactly once, nothing pending, both databases intact. The one
 * allowed difference is docs/spec.md §10's: a message the agent was killed while
 * transmitting to SMTP is held as "delivery state unknown", never resent.
 *
 * `npm test` runs a sample of points; `npm run soak` (TWINBOX_SOAK=1) runs
 * every point of every reference scenario, including the 200-action one
 * (`npm run soak -- --sample K`: K evenly spread points per fault).
 */
import { describe, expect, it } from 'vitest';
import { LoopbackProxy, TwinboxSystem } from '@twinbox/testkit';
import { PATENT_EXAMPLE, SEND_VIA_SYNC, TWO_HUNDRED_ACTIONS, type Reference } from './reference-scenarios.js';
import { endState, unknownDeliveries, withoutMessages, type EndState } from './state.js';

const SOAK = process.env.TWINBOX_SOAK === '1';
type Fault = 'agent' | 'server' | 'drop' | 'imap';
const FAULTS: Fault[] = ['agent', 'server', 'drop', 'imap'];

interface Links {
  system: TwinboxSystem;
  /** Between the agent and the sync server: counts TLS records. */
  proxy: LoopbackProxy;
  /** Between the agent and Dovecot: counts the lines the agent sends. */
  imapProxy: LoopbackProxy;
}

/** A system whose agent reaches the server and Dovecot through loopback proxies (for cutting links from outside). */
async function startSystem(reference: Reference): Promise<Links> {
  const system = await TwinboxSystem.start({ window: reference.window });
  const proxy = await LoopbackProxy.start({ port: system.port }, 'tls-records');
  const imapProxy = await LoopbackProxy.start({ port: system.dovecot.imapPort }, 'client-lines');
  system.editAgentConfig((c) => {
    c.server.url = `wss://127.0.0.1:${proxy.port}/sync`;
    c.imap.port = imapProxy.port;
  });
  return { system, proxy, imapProxy };
}

async function interrupted({ system, proxy, imapProxy }: Links, fault: Fault, point: number): Promise<void> {
  if (fault === 'drop' || fault === 'imap') {
    const link = fault === 'drop' ? proxy : imapProxy;
    link.cutAfter(point);
    const run = await system.runAgent();
    if (link.cuts !== 1) {
      // TLS record counts differ by one or two between runs (session tickets, coalesced writes): a point past
      // this run's last record means the sync ran to its end, which the end-state check below still covers.
      if (run.code !== 0 || link.units >= point) throw new Error(`the ${fault} link was not cut after ${point} units (exit ${run.code})`);
      console.log(`${fault}: this run had ${link.units} units, fewer than ${point}: not cut`);
    }
    // The IMAP server goes down with the link and comes back before the next sync.
    if (fault === 'imap') await system.restartImap();
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

const TITLE: Record<Fault, string> = {
  agent: 'agent killed after frame N and run again',
  server: 'server killed after frame N and restarted',
  drop: 'sync connection reset by a loopback proxy after TLS record N',
  imap: 'IMAP connection reset after the Nth line the agent sent and Dovecot restarted',
};
const UNIT: Record<Fault, string> = { agent: 'frames', server: 'frames', drop: 'TLS records', imap: 'IMAP lines' };

async function closeLinks({ system, proxy, imapProxy }: Links): Promise<void> {
  await proxy.close();
  await imapProxy.close();
  await system.stop();
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

/** With TWINBOX_KILL_SAMPLE=N a soak tries N points per fault and scenario instead of every one. */
const SOAK_SAMPLE = Number(process.env.TWINBOX_KILL_SAMPLE ?? 0);

/** Points to interrupt at: all of them when soaking, else an even sample with both ends. */
function points(frames: number, sample: number): number[] {
  if (SOAK && SOAK_SAMPLE > 0) sample = SOAK_SAMPLE;
  else if (SOAK) return Array.from({ length: frames }, (_, i) => i + 1);
  const step = (frames - 1) / Math.max(1, sample - 1);
  return [...new Set(Array.from({ length: sample }, (_, i) => 1 + Math.round(i * step)))];
}

function campaign(reference: Reference, sample: number): void {
  describe(reference.name, () => {
    let baseline: EndState | undefined;
    const total: Record<Fault, number> = { agent: 0, server: 0, drop: 0, imap: 0 };

    it('uninterrupted run (the reference)', async () => {
      const links = await startSystem(reference);
      const { system, proxy, imapProxy } = links;
      try {
        await reference.prepare(system);
        proxy.resetUnits();
        imapProxy.resetUnits();
        const summary = await system.sync();
        total.agent = total.server = summary.wire.framesSent + summary.wire.framesReceived;
        total.drop = proxy.units;
        total.imap = imapProxy.units;
        baseline = await endState(system);
        console.log(`${reference.name}: the sync under test has ${total.agent} frames in ${total.drop} TLS records, and sends ${total.imap} IMAP lines`);
      } finally {
        await closeLinks(links);
      }
    });

    for (const fault of FAULTS) {
      it(`${TITLE[fault]}, then synced to completion: same end state`, async () => {
        expect(baseline, 'the reference run must pass first').toBeDefined();
        const tried: number[] = [];
        for (const point of points(total[fault], sample)) {
          const links = await startSystem(reference);
          try {
            await reference.prepare(links.system);
            await interrupted(links, fault, point);
            await syncUntilComplete(links.system);
            const state = await endState(links.system);
            // Killed while a message was on its way to the SMTP server: held as "delivery state unknown"
            // by design, never sent twice. Everything else must be as in the uninterrupted run.
            const unknown = await unknownDeliveries(links.system);
            if (unknown.length > 0) console.log(`${reference.name}: ${fault} after ${point}: delivery of ${unknown.join(', ')} unknown (held, not resent)`);
            expect(new Set(state.smtp).size, 'no message sent twice').toBe(state.smtp.length);
            expect(withoutMessages(state, unknown), `${fault} interrupted after ${point} of ${total[fault]} ${UNIT[fault]}`).toEqual(withoutMessages(baseline!, unknown));
            tried.push(point);
          } finally {
            await closeLinks(links);
          }
        }
        console.log(`${reference.name}: ${fault} interrupted after ${UNIT[fault]} ${tried.join(', ')} of ${total[fault]}: all converged`);
      });
    }
  });
}

describe.sequential('kill at every step', () => {
  campaign(PATENT_EXAMPLE, 3);
  campaign(SEND_VIA_SYNC, 2);
  if (SOAK) campaign(TWO_HUNDRED_ACTIONS, 0);
});
