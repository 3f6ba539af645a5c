/**
 * `twinbox-agent install-service` (issue 13): the background agent as a
 * systemd *user* service, so it starts with the user's session (or at boot,
 * with lingering) and is restarted when it fails — without root.
 *
 * The unit runs this Node with this installation's `twinbox-agent run` and the
 * absolute config path; it restarts after a failure (not after a clean stop),
 * waits for the network, logs JSON lines to the journal, and drops what a
 * mail agent never needs (new privileges; writes outside its config folder and
 * home are still allowed, as SQLite needs its folder).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface UnitOptions {
  /** The agent config, made absolute. */
  config: string;
  account: string;
  /** Where to write it; default ~/.config/systemd/user (or $XDG_CONFIG_HOME/systemd/user). */
  unitDir?: string;
  /** Extra arguments for `twinbox-agent run` (a schedule, say). */
  runArgs?: string[];
}

/** This installation's twinbox-agent command (the bin wrapper beside dist/). */
export const AGENT_BIN = fileURLToPath(new URL('../bin/twinbox-agent.js', import.meta.url));

/** A systemd unit name for the account: letters, digits and a few marks only (systemd.unit(5)). */
export function unitNameFor(account: string): string {
  return `twinbox-agent-${account.replace(/[^A-Za-z0-9_.-]/g, '_')}.service`;
}

/** systemd's quoting for ExecStart arguments: double quotes, with \ and " escaped; % doubled (specifiers). */
const quote = (arg: string) => `"${arg.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%')}"`;

export function unitText(options: UnitOptions): string {
  const exec = [process.execPath, AGENT_BIN, 'run', '--config', options.config, ...(options.runArgs ?? [])].map(quote).join(' ');
  return [
    '# Written by `twinbox-agent install-service`; run it again to rewrite.',
    '[Unit]',
    `Description=Twinbox desktop agent (account ${options.account})`,
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    // A path, not a command line: no quotes (systemd takes the rest of the line), only specifiers escaped.
    `WorkingDirectory=${dirname(options.config).replace(/%/g, '%%')}`,
    'Environment=TWINBOX_LOG_FORMAT=json',
    // 75 (EX_TEMPFAIL) is the agent's "try again later"; it also restarts itself inside for those.
    'Restart=on-failure',
    'RestartSec=30',
    'NoNewPrivileges=yes',
    'PrivateTmp=yes',
    '',
    '[Install]',
    'WantedBy=default.target',
    '',
  ].join('\n');
}

export function installUnit(options: UnitOptions): { path: string; name: string } {
  const base = options.unitDir ?? join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'systemd', 'user');
  if (!existsSync(base)) mkdirSync(base, { recursive: true, mode: 0o755 });
  const name = unitNameFor(options.account);
  const path = join(resolve(base), name);
  writeFileSync(path, unitText(options), { mode: 0o644 });
  return { path, name };
}
