/**
 * `twinbox-agent doctor`: checks a configuration the way a sync would use it
 * and says plainly what works and what to change (issue 10):
 *
 *   IMAP    log in; the server's capabilities; the folders used as INBOX,
 *           Trash and Sent and how each was found; the code paths chosen;
 *           the commands the server advertised and refused, and what the
 *           agent does instead (imap/fallbacks.ts, remembered by syncs)
 *   SMTP    connect, TLS as configured, log in (when configured)
 *   server  TLS with a pinned key (docs/trust.md), the token (a `watch` hello)
 *   sync    what the agent's database holds back: changes set aside in the
 *           quarantine (docs/quarantine.md) — a warning, not a failure
 *
 * Nothing is changed, except that a Trash or Sent folder is created where
 * the server has none Twinbox recognises (as the first sync would; it says so),
 * and that what the server refused under capabilities it no longer advertises
 * is forgotten (as the next sync would). Doctor creates no agent database.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { PROTOCOL_VERSION, TwinboxError } from '@twinbox/protocol';
import type { AgentConfig } from './config.js';
import { DesktopImap } from './imap/desktop-imap.js';
import { describeFallbacks } from './imap/fallbacks.js';
import { AgentStore } from './store/agent-store.js';
import { desktopSmtp } from './smtp.js';
import { SyncConnection } from './transport/connection.js';
import { proxyFor, proxyLabel } from './transport/proxy.js';

export interface DoctorCheck {
  name: 'imap' | 'smtp' | 'server' | 'sync';
  ok: boolean;
  detail: string[];
  error?: { code: string; message: string };
}

function failure(name: DoctorCheck['name'], err: unknown): DoctorCheck {
  const code = err instanceof TwinboxError ? err.code : 'ERROR';
  return { name, ok: false, detail: [], error: { code, message: (err as Error).message } };
}

async function checkImap(config: AgentConfig): Promise<DoctorCheck> {
  const warnings: string[] = [];
  // What syncs found the server refusing is in the agent's database, when it has one (doctor creates none).
  const store = existsSync(config.database) ? AgentStore.open(config.database) : undefined;
  try {
    const imap = await DesktopImap.connect(config.imap, (m) => warnings.push(m), store);
    try {
      const p = imap.paths;
      const fallbacks = describeFallbacks(imap.fallbacks.list());
      return {
        name: 'imap',
        ok: true,
        detail: [
          `logged in to ${config.imap.host}:${config.imap.port} as ${config.imap.user} (${config.imap.security})`,
          `capabilities: ${imap.capabilities.join(' ')}`,
          `folders: INBOX; Trash "${p.folders.trash.path}" (${p.folders.trash.how}); Sent "${p.folders.sent.path}" (${p.folders.sent.how})`,
          `code paths: changes by ${p.detection}; moves by ${p.move}; removals by ${p.expunge}; UIDNEXT from ${p.uidNext === 'status' ? 'STATUS' : 'SELECT'}; ` +
            `new UIDs by ${p.appendUid}; window order by ${p.order}; Message-IDs by ${p.messageIds}`,
          ...(fallbacks.length === 0 ? ['fallbacks: none (no advertised command refused)'] : fallbacks.map((f) => `fallback: ${f}`)),
          ...warnings.map((w) => `note: ${w}`),
        ],
      };
    } finally {
      await imap.close();
    }
  } catch (err) {
    return failure('imap', err);
  } finally {
    store?.close();
  }
}

async function checkSmtp(config: AgentConfig): Promise<DoctorCheck> {
  const smtp = config.smtp;
  if (!smtp) return { name: 'smtp', ok: true, detail: ['not configured: mail the phone sends via the desktop cannot be sent (direct sends through the server still work)'] };
  try {
    await desktopSmtp(smtp).verify();
    return { name: 'smtp', ok: true, detail: [`connected to ${smtp.host}:${smtp.port} (${smtp.security})${smtp.user ? ` and logged in as ${smtp.user}` : ''}`] };
  } catch (err) {
    return failure('smtp', err);
  }
}

async function checkServer(config: AgentConfig, agentId: string): Promise<DoctorCheck> {
  try {
    const conn = await SyncConnection.open(config.server);
    try {
      conn.send({ type: 'watch', version: PROTOCOL_VERSION, accountId: config.account, token: config.token, agentId });
      await conn.expect('watching');
      const proxy = proxyFor(config.server.url, config.server.proxy);
      const via = proxy ? ` (through the proxy ${proxyLabel(proxy)})` : '';
      return { name: 'server', ok: true, detail: [`${config.server.url}${via}: its key is a pinned one, account ${config.account} accepted the token`] };
    } finally {
      conn.close();
    }
  } catch (err) {
    return failure('server', err);
  }
}

/** The agent's own state, read only (doctor creates no database): what it holds back from syncing. */
function checkSync(config: AgentConfig): DoctorCheck {
  if (!existsSync(config.database)) return { name: 'sync', ok: true, detail: ['never synced'] };
  const db = new Database(config.database, { readonly: true, fileMustExist: true });
  try {
    const hasTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'quarantine'").get() !== undefined;
    const rows = hasTable ? (db.prepare('SELECT id, kind, attempts, held, error FROM quarantine ORDER BY id').all() as { id: number; kind: string; attempts: number; held: number; error: string }[]) : [];
    if (rows.length === 0) return { name: 'sync', ok: true, detail: ['nothing set aside in the quarantine'] };
    return {
      name: 'sync',
      ok: true,
      detail: [
        `${rows.filter((r) => r.held === 1).length} change(s) set aside after failing again and again, ${rows.filter((r) => r.held === 0).length} being retried — the rest syncs; see twinbox-agent quarantine`,
        ...rows.map((r) => `#${r.id} ${r.held === 1 ? 'set aside' : 'retrying'}: ${r.kind} (${r.attempts} attempts): ${r.error}`),
      ],
    };
  } finally {
    db.close();
  }
}

export async function runDoctor(config: AgentConfig, agentId: string): Promise<DoctorCheck[]> {
  return [await checkImap(config), await checkSmtp(config), await checkServer(config, agentId), checkSync(config)];
}

export function formatDoctor(checks: DoctorCheck[]): string {
  const lines: string[] = [];
  for (const check of checks) {
    lines.push(`${check.ok ? 'ok  ' : 'FAIL'} ${check.name}`);
    for (const d of check.detail) lines.push(`     ${d}`);
    if (check.error) lines.push(`     ${check.error.message} [${check.error.code}]`);
  }
  const failed = checks.filter((c) => !c.ok).length;
  lines.push(failed === 0 ? 'verdict: ready to sync' : `verdict: ${failed} problem${failed > 1 ? 's' : ''} to fix before syncing`);
  return lines.join('\n');
}
