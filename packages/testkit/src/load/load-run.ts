/**
 * The load generator (issue 22, `npm run bench -- --nodes`): many simulated
 * agents (sim-agent.ts) syncing at once against a server — one node, or the
 * load balancer in front of several. It runs in two phases:
 *
 *   1. initial: every account's agent, with `initialMessages` desktop messages,
 *      runs its initial sync at the same moment (retried up to 3 times);
 *   2. update: every agent runs `updateSyncs` cycles back to back, each one
 *      `phoneChanges` phone API requests (read, unread, flag, unflag, trash on
 *      window messages: phone changes the next sync carries to the desktop),
 *      `desktopInserts` new desktop messages and `desktopFlagChanges` desktop
 *      read-state changes, then one update sync.
 *
 * It records every session (time, bytes, failures by code) and every phone
 * request; the caller measures the server (RSS, CPU, database connections).
 */
import { Agent, request } from 'node:https';
import { makeMessage } from '../mail.js';
import { percentile, phaseReport, seededRandom, type PhaseReport, type SessionRecord } from './load-stats.js';
import { SimAgent } from './sim-agent.js';

export interface LoadAccount {
  account: string;
  token: string;
  /** A phone device's API token (for phone changes). */
  deviceToken?: string;
}

export interface LoadOptions {
  /** wss://HOST:PORT/sync: one node, or the load balancer. The phone API is at the same host and port. */
  url: string;
  pins: string[];
  accounts: LoadAccount[];
  updateSyncs: number;
  initialMessages: number;
  desktopInserts: number;
  desktopFlagChanges: number;
  phoneChanges: number;
  /** Body size of each desktop message. */
  messageBytes: number;
  /** Keep each agent's connection between its syncs (the background agent); default: a connection per sync. */
  keepLinks?: boolean;
  /** Pause between an agent's cycles. */
  thinkMs?: number;
  seed?: number;
  onProgress?: (line: string) => void;
  /** Hears the simulated agents once the run is over (a test compares their desktops with the server). */
  inspect?: (agents: readonly SimAgent[]) => void;
}

export interface PhoneReport {
  requests: number;
  failed: number;
  failures: Record<string, number>;
  p50Ms: number;
  p95Ms: number;
}

export interface LoadReport {
  accounts: number;
  initial: PhaseReport;
  update: PhaseReport;
  phone: PhoneReport;
  /** A few failure messages, for the reader. */
  examples: string[];
}

const PHONE_OPS = ['read', 'unread', 'flag', 'unflag', 'read', 'flag', 'unread', 'unflag', 'read', 'trash'] as const;

interface PhoneResult {
  ms: number;
  /** HTTP status, or 0 when the request failed before an answer. */
  status: number;
  error?: string;
}

function phoneRequest(agent: Agent, base: URL, token: string, path: string): Promise<PhoneResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(
      { host: base.hostname, port: base.port, path, method: 'POST', agent, rejectUnauthorized: false, headers: { authorization: `Bearer ${token}`, 'content-length': 0 } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ ms: performance.now() - started, status: res.statusCode ?? 0 }));
      },
    );
    req.setTimeout(60_000, () => req.destroy(new Error('no answer within 60 s')));
    req.on('error', (err) => resolve({ ms: performance.now() - started, status: 0, error: err.message }));
    req.end();
  });
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const random = seededRandom(options.seed ?? 22);
  const base = new URL(options.url.replace(/^wss:/i, 'https:'));
  // A connection per phone request, as a phone that wakes up for one tap.
  const https = new Agent({ keepAlive: false, maxSockets: Infinity });
  const body = (label: string, date: Date) => makeMessage({ label, date, size: options.messageBytes });
  const agents = options.accounts.map(
    (a) => new SimAgent({ url: options.url, pins: options.pins, account: a.account, token: a.token, keepLink: options.keepLinks ?? false, makeMessage: body }),
  );
  const examples: string[] = [];
  const note = (r: SessionRecord) => {
    if (!r.ok && examples.length < 10) examples.push(`${r.account} ${r.kind}: ${r.code} ${r.error ?? ''}`);
  };

  // Phase 1: every initial sync at once.
  const initial: SessionRecord[] = [];
  let t0 = performance.now();
  await Promise.all(
    agents.map(async (agent) => {
      agent.deliverToDesktop(options.initialMessages);
      for (let attempt = 1; attempt <= 3; attempt++) {
        const r = await agent.sync();
        initial.push(r);
        note(r);
        if (r.ok) return;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }),
  );
  const initialReport = phaseReport(initial, performance.now() - t0);
  options.onProgress?.(`initial: ${initialReport.sessions} sessions in ${initialReport.wallMs} ms (${initialReport.failed} failed)`);

  // Phase 2: update cycles, every agent at once.
  const update: SessionRecord[] = [];
  const phone: PhoneResult[] = [];
  t0 = performance.now();
  await Promise.all(
    agents.map(async (agent, i) => {
      const deviceToken = options.accounts[i]!.deviceToken;
      for (let cycle = 0; cycle < options.updateSyncs; cycle++) {
        if (deviceToken) {
          // The phone's Inbox as the last sync left it, less what this cycle trashed (a second `trash` of it is
          // 409 WRONG_FOLDER: the generator's own mistake, not the server's).
          const trashed = new Set<number>();
          for (let c = 0; c < options.phoneChanges; c++) {
            const window = agent.desktop.mappedInbox().filter((id) => !trashed.has(id));
            if (window.length === 0) break;
            const phoneId = window[Math.floor(random() * window.length)]!;
            const op = PHONE_OPS[Math.floor(random() * PHONE_OPS.length)]!;
            if (op === 'trash') trashed.add(phoneId);
            phone.push(await phoneRequest(https, base, deviceToken, `/api/v1/messages/${phoneId}/${op}`));
          }
        }
        agent.deliverToDesktop(options.desktopInserts);
        agent.changeFlagsOnDesktop(options.desktopFlagChanges, random);
        const r = await agent.sync();
        update.push(r);
        note(r);
        if (options.thinkMs) await new Promise((resolve) => setTimeout(resolve, options.thinkMs));
      }
      agent.close();
    }),
  );
  const updateReport = phaseReport(update, performance.now() - t0);
  options.onProgress?.(`update: ${updateReport.sessions} sessions in ${updateReport.wallMs} ms (${updateReport.failed} failed)`);
  https.destroy();
  options.inspect?.(agents);

  // A phone change on a message that left the phone meanwhile (404) is the phone's race, not a failure.
  const failedPhone = phone.filter((p) => p.status === 0 || (p.status >= 400 && p.status !== 404));
  const failures: Record<string, number> = {};
  for (const p of failedPhone) failures[p.status === 0 ? 'NO_ANSWER' : String(p.status)] = (failures[p.status === 0 ? 'NO_ANSWER' : String(p.status)] ?? 0) + 1;
  for (const p of failedPhone) if (examples.length < 10) examples.push(`phone request: ${p.status} ${p.error ?? ''}`);
  const times = phone.map((p) => p.ms);
  return {
    accounts: agents.length,
    initial: initialReport,
    update: updateReport,
    phone: { requests: phone.length, failed: failedPhone.length, failures, p50Ms: Number(percentile(times, 50).toFixed(1)), p95Ms: Number(percentile(times, 95).toFixed(1)) },
    examples,
  };
}
