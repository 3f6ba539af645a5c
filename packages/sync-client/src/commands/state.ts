/**
 * `twinbox-agent status` and `twinbox-agent quarantine`: what the agent's
 * database and lock say, read only (quarantine --retry excepted). Times are
 * ISO 8601 in the JSON.
 */
import { existsSync } from 'node:fs';
import { UsageError, isoTime } from '@twinbox/cli';
import { TwinboxError } from '@twinbox/protocol';
import { loadAgentConfig } from '../config.js';
import { lockHolder, lockPathOf } from '../daemon/lock.js';
import { describeFallbacks, ImapFallbacks } from '../imap/fallbacks.js';
import { progressBar, type Progress } from '../progress.js';
import { AgentStore, type QuarantineRow } from '../store/agent-store.js';

export function status(values: { config?: string; json?: boolean }): void {
  if (!values.config) throw new UsageError('--config is required', 'status');
  const config = loadAgentConfig(values.config);
  const holder = lockHolder(lockPathOf(config));
  const agent = { running: holder?.role === 'run', pid: holder?.role === 'run' ? holder.pid : null, oneOffSyncPid: holder?.role === 'sync' ? holder.pid : null };
  if (!existsSync(config.database)) {
    console.log(values.json ? JSON.stringify({ paired: true, synced: false, agent }) : 'paired; never synced');
    return;
  }
  const store = AgentStore.open(config.database);
  try {
    const lastAt = store.getMeta('lastSyncAt');
    // How far the sync under way has come, as the syncing process last recorded it (a stale record is no sync).
    const recorded = store.getMeta('progress');
    const progress = holder && recorded ? (JSON.parse(recorded) as Progress & { at: number }) : undefined;
    const syncing = progress && Date.now() - progress.at < 30_000 ? { stage: progress.stage, done: progress.done, total: progress.total } : null;
    const outcome = JSON.parse(store.getMeta('lastOutcome') ?? 'null') as { ok: boolean; at: number; code?: string; message?: string } | null;
    const stats = JSON.parse(store.getMeta('lastStats') ?? 'null') as Record<string, unknown> | null;
    const info = {
      agent,
      agentPid: agent.pid,
      syncing,
      account: config.account,
      server: config.server.url,
      serverPins: config.server.pins ?? [],
      lastSyncNo: Number(store.getMeta('lastSyncNo') ?? 0),
      lastSyncAt: lastAt ? isoTime(Number(lastAt)) : null,
      lastSyncStats: stats,
      lastAttempt: outcome ? { ok: outcome.ok, at: isoTime(outcome.at) } : null,
      lastError: outcome && !outcome.ok ? { code: outcome.code, message: outcome.message, at: isoTime(outcome.at) } : null,
      pendingActions: store.pendingCount(),
      desktopInbox: store.folderState('inbox')?.exists ?? null,
      trackedInbox: store.inboxCount(),
      phoneWindow: store.mappings('inbox').length,
      phoneTrash: store.mappings('trash').length,
      imapPaths: JSON.parse(store.getMeta('imapPaths') ?? 'null') as Record<string, string> | null,
      // Commands the IMAP server advertised and refused, and what the agent does instead (imap/fallbacks.ts).
      imapFallbacks: store.refusals(ImapFallbacks.serverOf(config.imap)).map(({ path, command, response, at }) => ({ path, command, response, at: isoTime(at) })),
      quarantine: store.quarantine().map(quarantineView),
    };
    if (values.json) return void console.log(JSON.stringify(info));
    const oneOff = agent.oneOffSyncPid ? ` (a one-off sync is running, pid ${agent.oneOffSyncPid})` : '';
    console.log(`agent: ${agent.running ? `running (pid ${agent.pid})` : `not running${oneOff}`}`);
    console.log(`syncing: ${syncing ? progressBar(syncing) : 'no'}`);
    console.log(`account: ${info.account} at ${info.server}`);
    console.log(`last sync: ${info.lastSyncAt ? `${info.lastSyncNo} at ${info.lastSyncAt}` : 'never'}${stats ? ` (${stats.mode}: ${stats.agentActions} desktop changes, ${stats.serverActions} phone changes, ${stats.pulled} pulled)` : ''}`);
    console.log(`last attempt: ${info.lastAttempt ? `${info.lastAttempt.ok ? 'succeeded' : 'FAILED'} at ${info.lastAttempt.at}` : 'none'}`);
    if (info.lastError) console.log(`last error: ${info.lastError.message} [${info.lastError.code}]`);
    console.log(`pending actions: ${info.pendingActions}`);
    console.log(`desktop INBOX: ${info.desktopInbox ?? 'unknown'} (tracked ${info.trackedInbox}); phone window ${info.phoneWindow}, phone trash ${info.phoneTrash}`);
    const p = info.imapPaths;
    console.log(`IMAP code paths: ${p ? `changes by ${p.detection}; moves by ${p.move}; removals by ${p.expunge}; UIDNEXT from ${p.uidNext}; new UIDs by ${p.appendUid}` : 'not known yet'}`);
    for (const line of describeFallbacks(store.refusals(ImapFallbacks.serverOf(config.imap)))) console.log(`IMAP fallback: ${line}`);
    console.log(`quarantine: ${quarantineSummary(info.quarantine)}`);
    for (const q of info.quarantine) console.log(`  ${formatQuarantined(q)}`);
  } finally {
    store.close();
  }
}

/** One quarantine row as `status` and `quarantine` show it (docs/quarantine.md). */
function quarantineView(q: QuarantineRow) {
  return {
    id: q.id,
    state: q.held ? 'set aside' : 'retrying',
    direction: q.direction === 'toDesktop' ? 'phone change for the desktop' : 'desktop message for the phone',
    kind: q.kind,
    ...(q.phoneId !== null ? { phoneId: q.phoneId } : {}),
    ...(q.uid !== null ? { desktopUid: q.uid } : {}),
    attempts: q.attempts,
    error: q.error,
    since: isoTime(q.firstAt),
    lastAttempt: isoTime(q.lastAt),
  };
}

function quarantineSummary(rows: ReturnType<typeof quarantineView>[]): string {
  if (rows.length === 0) return 'nothing set aside';
  const held = rows.filter((r) => r.state === 'set aside').length;
  return `${held} set aside, ${rows.length - held} being retried (twinbox-agent quarantine --retry ID tries one again)`;
}

function formatQuarantined(q: ReturnType<typeof quarantineView>): string {
  const which = 'phoneId' in q ? `phone message ${q.phoneId}` : `desktop UID ${q.desktopUid}`;
  return `#${q.id} ${q.state}: ${q.kind} of ${which} (${q.direction}), ${q.attempts} attempt${q.attempts === 1 ? '' : 's'} since ${q.since}: ${q.error}`;
}

/** `twinbox-agent quarantine`: what was set aside, and trying it again (the next sync takes it up). */
export function quarantine(values: { config?: string; json?: boolean; retry?: string; 'retry-all'?: boolean }): void {
  if (!values.config) throw new UsageError('--config is required', 'quarantine');
  if (values.retry !== undefined && values['retry-all']) throw new UsageError('give --retry ID or --retry-all, not both', 'quarantine');
  if (values.retry !== undefined && !/^\d{1,15}$/.test(values.retry)) throw new UsageError(`--retry takes the number shown by twinbox-agent quarantine, not ${JSON.stringify(values.retry)}`, 'quarantine');
  const config = loadAgentConfig(values.config);
  if (!existsSync(config.database)) return void console.log(values.json ? JSON.stringify({ quarantine: [] }) : 'nothing set aside (never synced)');
  const store = AgentStore.open(config.database);
  try {
    if (values.retry !== undefined || values['retry-all']) {
      const released = store.transaction(() => store.retryQuarantined(values.retry === undefined ? undefined : Number(values.retry)));
      if (values.retry !== undefined && released === 0) throw new TwinboxError('CONFIG', `nothing set aside with number ${values.retry} (see twinbox-agent quarantine)`);
      console.log(values.json ? JSON.stringify({ retried: released }) : `${released} set-aside change${released === 1 ? '' : 's'} will be tried again at the next sync`);
      return;
    }
    const rows = store.quarantine().map(quarantineView);
    if (values.json) return void console.log(JSON.stringify({ quarantine: rows }));
    console.log(quarantineSummary(rows));
    for (const q of rows) console.log(`  ${formatQuarantined(q)}`);
  } finally {
    store.close();
  }
}
