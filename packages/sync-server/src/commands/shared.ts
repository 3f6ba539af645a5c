/**
 * What the server's commands share: the store opened for one command, the
 * addresses printed for pairing and signing in, the pins agents hold
 * (docs/trust.md), and pairing secrets written to a file only its owner can
 * read — never on a command line, which `ps` shows to every user.
 */
import { chmodSync, closeSync, ftruncateSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { required } from '@twinbox/cli';
import { loadConfig, type ServerConfig } from '../config.js';
import { ServerStore } from '../store/index.js';
import { certificatePin, privateKeyPin } from '../tls.js';

export interface CommandValues {
  config?: string;
  id?: string;
  json?: boolean;
}

/** Run `fn` with the config's store open (closed after, whatever happens: an open PostgreSQL pool would keep the command running). */
export async function withStore<T>(values: CommandValues, command: string, fn: (store: ServerStore, config: ServerConfig) => T | Promise<T>): Promise<T> {
  const config = loadConfig(required(values, 'config', command));
  const store = await ServerStore.open(config.store);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

/** `withStore` for a command about one account (`--id`), which must exist. */
export async function withAccount<T>(values: CommandValues, command: string, fn: (store: ServerStore, config: ServerConfig, accountId: string) => T | Promise<T>): Promise<T> {
  const accountId = required(values, 'id', command);
  return withStore(values, command, async (store, config) => {
    // Not a usage error (the command line is right; the account is not there): exit 1.
    if (!(await store.accounts.get(accountId))) throw new Error(`no account ${accountId} (see twinbox-server account list)`);
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

/** A new secrets file, open: `write` replaces what it holds; `discard` removes it (it is ours: `create` made it). */
export interface SecretsFile {
  write(text: string): void;
  close(): void;
  discard(): void;
}

/** Make a new file only its owner can read; an existing file is never overwritten (it may be someone's). */
export function createSecretsFile(path: string): SecretsFile {
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    throw new Error(`cannot write the secrets file ${path}: ${(err as Error).message} (name a new file in an existing folder)`, { cause: err });
  }
  let open = true;
  const close = () => {
    if (open) closeSync(fd);
    open = false;
  };
  try {
    chmodSync(path, 0o600); // whatever the umask
  } catch (err) {
    close();
    throw err;
  }
  return {
    write(text) {
      ftruncateSync(fd, 0);
      writeSync(fd, text, 0);
    },
    close,
    discard() {
      close();
      unlinkSync(path);
    },
  };
}

/** Write a new file only its owner can read, in one go (`createSecretsFile`). */
export function writeSecretsFile(path: string, text: string): void {
  const file = createSecretsFile(path);
  try {
    file.write(text);
  } finally {
    file.close();
  }
}
