/**
 * What the server's commands share: the store opened for one command, the
 * addresses printed for pairing and signing in, the pins agents hold
 * (docs/trust.md), and pairing secrets written to a file only its owner can
 * read — never on a command line, which `ps` shows to every user.
 */
import { chmodSync, closeSync, openSync, writeSync } from 'node:fs';
import { required } from '@twinbox/cli';
import { loadConfig, type ServerConfig } from '../config.js';
import { ServerStore } from '../store/index.js';
import { certificatePin, privateKeyPin } from '../tls.js';

export interface CommandValues {
  config?: string;
  id?: string;
  json?: boolean;
}

/** Run `fn` with the config's store open (closed after, whatever happens). */
export function withStore<T>(values: CommandValues, command: string, fn: (store: ServerStore, config: ServerConfig) => T): T {
  const config = loadConfig(required(values, 'config', command));
  const store = ServerStore.open(config.database);
  try {
    return fn(store, config);
  } finally {
    store.close();
  }
}

/** `withStore` for a command about one account (`--id`), which must exist. */
export function withAccount<T>(values: CommandValues, command: string, fn: (store: ServerStore, config: ServerConfig, accountId: string) => T): T {
  const accountId = required(values, 'id', command);
  return withStore(values, command, (store, config) => {
    // Not a usage error (the command line is right; the account is not there): exit 1.
    if (!store.accounts.get(accountId)) throw new Error(`no account ${accountId} (see twinbox-server account list)`);
    return fn(store, config, accountId);
  });
}

export function publicUrlOf(config: ServerConfig): string {
  return config.publicUrl ?? `wss://${config.listen.host}:${config.listen.port}/sync`;
}

/** The pins an agent pairs with: the key in use, and the backup key when there is one. */
export function pinsOf(config: ServerConfig): string[] {
  return [certificatePin(config.tls.cert), ...(config.tls.backupKey ? [privateKeyPin(config.tls.backupKey)] : [])];
}

/** The agent's secrets as its `pair --secrets-file` / `secrets --secrets-file` / `--secrets-stdin` read them: `name=value` lines. */
export function secretLines(secrets: { token: string; triggerSecret?: string }): string {
  return `token=${secrets.token}\n${secrets.triggerSecret ? `trigger-secret=${secrets.triggerSecret}\n` : ''}`;
}

/** Write a new file only its owner can read; an existing file is never overwritten (it may be someone's). */
export function writeSecretsFile(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    throw new Error(`cannot write the secrets file ${path}: ${(err as Error).message} (name a new file in an existing folder)`, { cause: err });
  }
  try {
    chmodSync(path, 0o600); // whatever the umask
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
