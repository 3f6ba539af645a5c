/**
 * What a load run reports (issue 22's benchmark): per phase, sessions per
 * second over the phase's wall time, session time percentiles (nearest
 * rank), failures by error code, and bytes per session.
 */

/** One sync session of a simulated agent, as the load generator saw it. */
export interface SessionRecord {
  account: string;
  kind: 'initial' | 'update';
  ok: boolean;
  /** From the start of the connection (TLS and WebSocket handshake included) to `completed`. */
  ms: number;
  /** Of which the connection's opening (0 on a link kept open). */
  connectMs: number;
  /** WebSocket frame bytes, as the agent counts them (SyncConnection.stats). */
  bytesSent: number;
  bytesReceived: number;
  agentActions: number;
  serverActions: number;
  /** The error code of a failed session (TwinboxError code, else ERROR). */
  code?: string;
  error?: string;
}

export interface PhaseReport {
  sessions: number;
  failed: number;
  failures: Record<string, number>;
  wallMs: number;
  sessionsPerSecond: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  meanConnectMs: number;
  meanBytesPerSession: number;
  agentActions: number;
  serverActions: number;
}

/** The p-th percentile (0–100) by nearest rank; 0 for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

const mean = (values: readonly number[]) => (values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length);
const round = (x: number, digits = 1) => Number(x.toFixed(digits));

/** Summarise the sessions of one phase that took `wallMs`. Times are of completed sessions only. */
export function phaseReport(records: readonly SessionRecord[], wallMs: number): PhaseReport {
  const ok = records.filter((r) => r.ok);
  const failures: Record<string, number> = {};
  for (const r of records) if (!r.ok) failures[r.code ?? 'ERROR'] = (failures[r.code ?? 'ERROR'] ?? 0) + 1;
  const times = ok.map((r) => r.ms);
  return {
    sessions: ok.length,
    failed: records.length - ok.length,
    failures,
    wallMs: Math.round(wallMs),
    sessionsPerSecond: wallMs > 0 ? round((ok.length * 1000) / wallMs) : 0,
    p50Ms: round(percentile(times, 50)),
    p95Ms: round(percentile(times, 95)),
    maxMs: round(times.length ? Math.max(...times) : 0),
    meanConnectMs: round(mean(ok.map((r) => r.connectMs))),
    meanBytesPerSession: Math.round(mean(ok.map((r) => r.bytesSent + r.bytesReceived))),
    agentActions: ok.reduce((n, r) => n + r.agentActions, 0),
    serverActions: ok.reduce((n, r) => n + r.serverActions, 0),
  };
}

/** A small seeded random number generator (mulberry32), so that a run's choices can be repeated. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
