/**
 * Secrets `pair` and `secrets` take without putting them on the command line
 * (which `ps` shows to every user): `name=value` lines from a file only its
 * owner may read (`--secrets-file`, as `twinbox-server account add` and
 * `account token` write it) and/or standard input (`--secrets-stdin`), or
 * environment variables.
 */
import { readFileSync, statSync } from 'node:fs';
import { UsageError } from '@twinbox/cli';
import { TwinboxError } from '@twinbox/protocol';

/** Secret name → the environment variable that may carry it. */
export const SECRETS = {
  token: 'TWINBOX_TOKEN',
  'trigger-secret': 'TWINBOX_TRIGGER_SECRET',
  'imap-password': 'TWINBOX_IMAP_PASSWORD',
  'smtp-password': 'TWINBOX_SMTP_PASSWORD',
} as const;
export type SecretName = keyof typeof SECRETS;
export type Secrets = Partial<Record<SecretName, string>>;

/** `name=value` lines; empty lines and `#` comments are skipped. */
export function parseSecrets(text: string, source: string): Secrets {
  const found: Secrets = {};
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.trimStart().startsWith('#')) continue;
    const eq = line.indexOf('=');
    const name = line.slice(0, Math.max(0, eq)).trim();
    if (eq < 0 || !Object.hasOwn(SECRETS, name)) throw new UsageError(`${source}: expected lines NAME=VALUE with NAME one of ${Object.keys(SECRETS).join(', ')}`);
    found[name as SecretName] = line.slice(eq + 1); // as it is: a password may begin or end with a space
  }
  return found;
}

export async function secretsFromStdin(): Promise<Secrets> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return parseSecrets(Buffer.concat(chunks).toString('utf8'), '--secrets-stdin');
}

/** A secrets file no one but its owner may read or change (as ssh insists for its keys). */
export function secretsFromFile(path: string): Secrets {
  let mode: number;
  try {
    mode = statSync(path).mode;
  } catch (err) {
    throw new TwinboxError('CONFIG', `--secrets-file ${path}: ${(err as Error).message}`, { cause: err });
  }
  if ((mode & 0o077) !== 0) {
    throw new TwinboxError('CONFIG', `--secrets-file ${path} may be read by other users (mode ${(mode & 0o777).toString(8).padStart(4, '0')}); chmod 600 it, and make new pairing secrets if others could read it`);
  }
  return parseSecrets(readFileSync(path, 'utf8'), `--secrets-file ${path}`);
}

/** The secrets given with --secrets-file and --secrets-stdin, with the command line (for older scripts) and the environment behind. */
export async function gatherSecrets(
  values: { 'secrets-file'?: string | undefined; 'secrets-stdin'?: boolean | undefined } & Partial<Record<SecretName, string>>,
  fromEnvironment = true,
): Promise<(name: SecretName) => string | undefined> {
  const fromFile = values['secrets-file'] !== undefined ? secretsFromFile(values['secrets-file']) : {};
  const fromStdin = values['secrets-stdin'] ? await secretsFromStdin() : {};
  // The command line, else standard input, else the secrets file, else the environment.
  return (name) => values[name] ?? fromStdin[name] ?? fromFile[name] ?? ((fromEnvironment && process.env[SECRETS[name]]) || undefined);
}
