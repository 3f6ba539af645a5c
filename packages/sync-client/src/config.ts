/**
 * Agent configuration: one JSON file written by `twinbox-agent pair` (mode
 * 0600: it holds the agent token and the IMAP password). Paths are relative
 * to the file. TWINBOX_IMAP_PASSWORD, when set, overrides the stored password.
 *
 *   { "server": { "url": "wss://host:8443/sync", "fingerprint": "AB:CD:…" },
 *     "account": "alice", "token": "…", "triggerSecret": "…",
 *     "imap": { "host": "mail.corp", "port": 993, "security": "tls", "user": "alice", "password": "…",
 *               (security: tls | starttls (required) | plain (no encryption, only when chosen); transport-security.ts)
 *               "qresync": true,     (false: find changes by comparison, for servers whose CONDSTORE is broken)
 *               "keepaliveSeconds": 60,  (how often the trigger watcher checks its idle connection answers)
 *               "pollSeconds": 20,       (how often the trigger watcher looks besides IDLE)
 *               "trashFolder": "…", "sentFolder": "…" },  (when discovery, imap/folders.ts, picks the wrong ones)
 *     "smtp": { "host": "smtp.corp", "port": 587, "security": "starttls", "user": "alice", "password": "…" },
 *     "schedule": "0-59/5 * * * *",   (cron; "off" for no scheduled syncs)
 *     "database": "agent.db" }
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { TwinboxError } from '@twinbox/protocol';
import type { ImapSettings } from './imap/desktop-imap.js';
import type { SmtpSettings } from './smtp.js';
import { defaultPort, securityOf } from '@twinbox/protocol';

export interface AgentConfig {
  /** proxy: an HTTP proxy for the sync connection, or "direct" (transport/proxy.ts); default: HTTPS_PROXY/NO_PROXY. */
  server: { url: string; fingerprint: string; proxy?: string };
  account: string;
  token: string;
  triggerSecret?: string;
  imap: ImapSettings;
  /** The desktop's outgoing mail server, for mail the phone sends via sync. */
  smtp?: SmtpSettings;
  /** When `twinbox-agent run` syncs without being asked: a cron expression, or "off". Default every 5 minutes. */
  schedule?: string;
  /** Absolute path once loaded. */
  database: string;
}

export function loadAgentConfig(path: string): AgentConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new TwinboxError('CONFIG', `cannot read agent config ${path}: ${(err as Error).message}`);
  }
  const c = raw as Partial<AgentConfig>;
  const missing = [
    !c.server?.url && 'server.url',
    !c.server?.fingerprint && 'server.fingerprint',
    !c.account && 'account',
    !c.token && 'token',
    !c.imap?.host && 'imap.host',
    !c.imap?.user && 'imap.user',
  ].filter(Boolean);
  if (missing.length > 0) throw new TwinboxError('CONFIG', `agent config ${path} lacks ${missing.join(', ')}`);
  const imap = c.imap!;
  const imapSecurity = securityOf(imap as { security?: unknown; secure?: unknown }, `agent config ${path}: imap.security`, 'tls');
  const smtpSecurity = c.smtp ? securityOf(c.smtp as { security?: unknown; secure?: unknown }, `agent config ${path}: smtp.security`, 'starttls') : 'starttls';
  return {
    server: c.server!,
    account: c.account!,
    token: c.token!,
    ...(c.triggerSecret ? { triggerSecret: c.triggerSecret } : {}),
    imap: {
      host: imap.host,
      port: imap.port ?? defaultPort.imap[imapSecurity],
      security: imapSecurity,
      user: imap.user,
      password: process.env.TWINBOX_IMAP_PASSWORD ?? imap.password ?? '',
      ...(imap.allowInvalidCertificate ? { allowInvalidCertificate: true } : {}),
      ...(imap.qresync === false ? { qresync: false } : {}),
      ...(imap.keepaliveSeconds !== undefined ? { keepaliveSeconds: positiveSeconds(path, 'imap.keepaliveSeconds', imap.keepaliveSeconds) } : {}),
      ...(imap.pollSeconds !== undefined ? { pollSeconds: positiveSeconds(path, 'imap.pollSeconds', imap.pollSeconds) } : {}),
      ...(typeof imap.trashFolder === 'string' ? { trashFolder: imap.trashFolder } : {}),
      ...(typeof imap.sentFolder === 'string' ? { sentFolder: imap.sentFolder } : {}),
    },
    ...(c.smtp?.host
      ? {
          smtp: {
            ...c.smtp,
            port: c.smtp.port ?? defaultPort.smtp[smtpSecurity],
            security: smtpSecurity,
            ...(process.env.TWINBOX_SMTP_PASSWORD ? { password: process.env.TWINBOX_SMTP_PASSWORD } : {}),
          },
        }
      : {}),
    ...(typeof c.schedule === 'string' ? { schedule: c.schedule } : {}),
    database: resolve(dirname(resolve(path)), c.database ?? 'agent.db'),
  };
}

function positiveSeconds(path: string, field: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0)) throw new TwinboxError('CONFIG', `agent config ${path}: ${field} must be a positive number of seconds`);
  return value;
}

/** Write the config readable by its owner only (it holds the token and passwords), whatever mode the file had. */
export function writeAgentConfig(path: string, config: Omit<AgentConfig, 'database'> & { database: string }): void {
  // `--config ~/.twinbox/agent.json` on a fresh machine: the folder is made, readable by its owner only (issue 13).
  const folder = dirname(path);
  if (!existsSync(folder)) mkdirSync(folder, { recursive: true, mode: 0o700 });
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
}
