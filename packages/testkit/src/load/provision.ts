/**
 * Accounts for the load generator (issue 22): each with its agent token and
 * a phone device's API token, and the pins every agent holds.
 *
 * Two ways, the same result:
 *   - `cli`: `twinbox-server account add --json` and `device add --json`, one
 *     process each, as an operator pairs — whatever store the config names,
 *     but about a second of CPU per command (minutes for 200 accounts);
 *   - `store`: the same calls those commands make (store.accounts.add,
 *     store.devices.add), in this process, in one transaction: seconds. It
 *     opens the store the config names (SQLite or PostgreSQL, or the
 *     DATABASE_URL of `env`), as the commands do.
 */
import { execFile } from 'node:child_process';
import { loadConfig, ServerStore } from '@twinbox/sync-server';
import { SERVER_CLI } from '../system.js';
import type { LoadAccount } from './load-run.js';

export interface ProvisionOptions {
  /** Account ids are `<prefix><n>` (default `load`). */
  prefix?: string;
  window?: number;
  via?: 'store' | 'cli';
  /** CLI commands at once (default 2). */
  concurrency?: number;
  env?: NodeJS.ProcessEnv;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [SERVER_CLI, ...args], { env: { ...process.env, ...env }, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`twinbox-server ${args.slice(0, 2).join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** The pins agents hold for this server: the key in use and the backup key (`twinbox-server certificate --json`). */
export async function serverPins(config: string, env?: NodeJS.ProcessEnv): Promise<string[]> {
  const info = JSON.parse(await cli(['certificate', '--config', config, '--json'], env)) as { pin: string; backupPin: string | null };
  return [info.pin, ...(info.backupPin ? [info.backupPin] : [])];
}

export async function provisionAccounts(config: string, count: number, options: ProvisionOptions = {}): Promise<LoadAccount[]> {
  const prefix = options.prefix ?? 'load';
  const ids = Array.from({ length: count }, (_, i) => `${prefix}${i + 1}`);
  if ((options.via ?? 'store') === 'store') {
    const store = await ServerStore.open(loadConfig(config, { ...process.env, ...options.env }).store);
    try {
      return await store.transaction(async () => {
        const made: LoadAccount[] = [];
        for (const id of ids) {
          const { token } = await store.accounts.add({ id, desktopAddress: `${id}@desktop.test`, ...(options.window ? { window: options.window } : {}) });
          made.push({ account: id, token, deviceToken: (await store.devices.add(id, 'load phone')).token });
        }
        return made;
      });
    } finally {
      await store.close();
    }
  }
  const made: LoadAccount[] = [];
  const queue = [...ids];
  const worker = async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const window = options.window ? ['--window', String(options.window)] : [];
      const pairing = JSON.parse(await cli(['account', 'add', '--config', config, '--id', id, '--desktop', `${id}@desktop.test`, ...window, '--json'], options.env)) as { token: string };
      const device = JSON.parse(await cli(['device', 'add', '--config', config, '--id', id, '--name', 'load phone', '--json'], options.env)) as { token: string };
      made.push({ account: id, token: pairing.token, deviceToken: device.token });
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 2 }, worker));
  return made.sort((a, b) => ids.indexOf(a.account) - ids.indexOf(b.account));
}
