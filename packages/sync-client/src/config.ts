/**
 * Agent configuration: one JSON file written by `twinbox-agent pair` (mode
 * 0600: it holds the agent token and the IMAP password), checked against its
 * schema (config-schema.ts) by every command, every mistake named at once.
 * Paths are relative to the file. TWINBOX_IMAP_PASSWORD and
 * TWINBOX_SMTP_PASSWORD, when set, override the stored passwords.
 *
 *   { "server": { "url": "wss://host:8443/sync", "pins": ["sha256//…", "sha256//…"] },
 *     "account": "alice", "token": "…", "triggerSecret": "…",
 *     "imap": { "host": "mail.corp", "port": 993, "security": "tls", "user": "alice", "password": "…",
 *               (security: tls | starttls (required) | plain (no encryption, only when chosen); transport-security.ts)
 *               "qresync": true,     (false: find changes by comparison, for servers whose CONDSTORE is broken)
 *               "keepaliveSeconds": 60,  (how often the desktop watcher checks its idle connection answers)
 *               "pollSeconds": 20,       (how often the desktop watcher looks besides IDLE)
 *               "trashFolder": "…", "sentFolder": "…" },  (when discovery, imap/folders.ts, picks the wrong ones)
 *     "smtp": { "host": "smtp.corp", "port": 587, "security": "starttls", "user": "alice", "password": "…" },
 *     "schedule": "0-59/5 * * * *",   (cron; "off" for no scheduled syncs)
 *     "database": "agent.db" }
 *
 * The file is changed in place (`editAgentConfigFile`) by `repin`, `secrets`
 * and the migration of an old certificate fingerprint to a key pin.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { configError, fileProblem, loadConfigFile, schemaProblems } from '@twinbox/cli';
import { defaultPort, securityOf, type ServerTrust } from '@twinbox/protocol';
import { AGENT_CONFIG_SCHEMA, type AgentConfigFile } from './config-schema.js';
import type { ImapSettings } from './imap/desktop-imap.js';
import type { SmtpSettings } from './smtp.js';

export interface ServerSettings extends ServerTrust {
  url: string;
  /** An HTTP proxy for the sync connection, or "direct" (transport/proxy.ts); default: HTTPS_PROXY/NO_PROXY. */
  proxy?: string;
}

export interface AgentConfig {
  /** The file it was read from (absolute). */
  path: string;
  server: ServerSettings;
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

const WHAT = 'agent config';

export function loadAgentConfig(path: string): AgentConfig {
  const file = resolve(path);
  const config = resolveAgentConfig(loadConfigFile(AGENT_CONFIG_SCHEMA, file, WHAT), file);
  // The database is made at the first sync; its folder must be there.
  const folder = fileProblem('database', dirname(config.database), 'folder');
  if (folder) throw configError(WHAT, file, [folder]);
  return config;
}

/** The config file's content as written (checked against the schema), for a command that changes it. */
export function readAgentConfigFile(path: string): AgentConfigFile {
  return loadConfigFile(AGENT_CONFIG_SCHEMA, resolve(path), WHAT);
}

/** A checked config file's content as the agent uses it: paths absolute, ports and security settled, passwords from the environment. */
export function resolveAgentConfig(c: AgentConfigFile, file: string): AgentConfig {
  const database = resolve(dirname(file), c.database ?? 'agent.db');
  const imapSecurity = securityOf(c.imap, `${WHAT} ${file}: imap.security`, 'tls');
  const smtpSecurity = c.smtp ? securityOf(c.smtp, `${WHAT} ${file}: smtp.security`, 'starttls') : 'starttls';
  const { secure: _imapSecure, password: imapPassword, ...imap } = c.imap;
  return {
    path: file,
    server: c.server,
    account: c.account,
    token: c.token,
    ...(c.triggerSecret ? { triggerSecret: c.triggerSecret } : {}),
    imap: {
      ...imap,
      port: c.imap.port ?? defaultPort.imap[imapSecurity],
      security: imapSecurity,
      password: process.env.TWINBOX_IMAP_PASSWORD ?? imapPassword ?? '',
    },
    ...(c.smtp
      ? {
          smtp: {
            ...withoutSecure(c.smtp),
            port: c.smtp.port ?? defaultPort.smtp[smtpSecurity],
            security: smtpSecurity,
            ...(process.env.TWINBOX_SMTP_PASSWORD ? { password: process.env.TWINBOX_SMTP_PASSWORD } : {}),
          },
        }
      : {}),
    ...(c.schedule !== undefined ? { schedule: c.schedule } : {}),
    database,
  };
}

function withoutSecure<T extends { secure?: boolean }>(settings: T): Omit<T, 'secure'> {
  const { secure: _secure, ...rest } = settings;
  return rest;
}

/** Write the config readable by its owner only (it holds the token and passwords), whatever mode the file had. */
/** Write a config (checked against the schema first). */
export function writeAgentConfig(path: string, config: AgentConfigFile): void {
  const problems = schemaProblems(AGENT_CONFIG_SCHEMA, config);
  if (problems.length > 0) throw configError(WHAT, path, problems);
  // `--config ~/.twinbox/agent.json` on a fresh machine: the folder is made, readable by its owner only.
  const folder = dirname(path);
  if (!existsSync(folder)) mkdirSync(folder, { recursive: true, mode: 0o700 });
  // A new file beside it, then renamed over it: a crash never leaves half a config.
  const next = `${path}.new`;
  writeFileSync(next, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  chmodSync(next, 0o600);
  renameSync(next, path);
}

/**
 * Change the config file as it is on disk (not the loaded, resolved form):
 * what the user wrote stays, the change is checked against the schema before
 * it is written.
 */
export function editAgentConfigFile(path: string, change: (config: AgentConfigFile) => void): void {
  const current = JSON.parse(readFileSync(path, 'utf8')) as AgentConfigFile;
  change(current);
  writeAgentConfig(path, current);
}
