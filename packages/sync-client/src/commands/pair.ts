/**
 * `twinbox-agent pair` (write a config that works) and `twinbox-agent
 * secrets` (take new secrets into one: a reissued token, a changed password).
 * Both test what they would write — the server link with its key pin and
 * token, the IMAP login, SMTP — and write nothing when a check fails
 * (`--no-check` writes untested). README "Running it for real".
 */
import { resolve } from 'node:path';
import { UsageError } from '@twinbox/cli';
import { CERTIFICATE_FINGERPRINT, KEY_PIN, TRANSPORT_SECURITY, TwinboxError, defaultPort, keyPinOf, trustOf, type TransportSecurity } from '@twinbox/protocol';
import type { AgentConfigFile } from '../config-schema.js';
import { readAgentConfigFile, resolveAgentConfig, writeAgentConfig } from '../config.js';
import { presentedCertificate } from '../transport/trust.js';
import { SECRETS, gatherSecrets, type SecretName } from './secrets-input.js';

export interface PairValues {
  config?: string;
  server?: string;
  account?: string;
  token?: string;
  pin?: string[];
  fingerprint?: string;
  'trigger-secret'?: string;
  database?: string;
  'imap-host'?: string;
  'imap-port'?: string;
  'imap-security'?: string;
  'imap-plain'?: boolean;
  'imap-user'?: string;
  'imap-password'?: string;
  'imap-allow-invalid-cert'?: boolean;
  'smtp-host'?: string;
  'smtp-port'?: string;
  'smtp-security'?: string;
  'smtp-tls'?: boolean;
  'smtp-user'?: string;
  'smtp-password'?: string;
  'secrets-file'?: string;
  'secrets-stdin'?: boolean;
  'no-check'?: boolean;
  proxy?: string;
  json?: boolean;
}

function need(values: PairValues, name: keyof PairValues & string, command: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`, command);
  return value;
}

function securityOption(values: PairValues, name: 'imap-security' | 'smtp-security', fallback: TransportSecurity): TransportSecurity {
  const value = values[name];
  if (value === undefined) return fallback;
  if (!(TRANSPORT_SECURITY as readonly string[]).includes(value)) throw new UsageError(`--${name} must be one of ${TRANSPORT_SECURITY.join(', ')}`, 'pair');
  return value as TransportSecurity;
}

function portOption(value: string | undefined, name: string, fallback: number): number {
  const port = Number(value ?? fallback);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new UsageError(`--${name} must be 1..65535`, 'pair');
  return port;
}

/**
 * How the server is trusted: the pins given (`--pin`, as `account add` prints
 * them), or, from an older server's output, its certificate fingerprint —
 * turned into the pin of that certificate's key when the server presents it.
 */
async function serverTrust(values: PairValues, url: string, check: boolean): Promise<Pick<AgentConfigFile['server'], 'pins' | 'fingerprint'>> {
  const pins = values.pin ?? [];
  for (const pin of pins) if (!KEY_PIN.test(pin)) throw new UsageError(`--pin must be a key pin as the server prints it (sha256//… 44 base64 characters), not ${JSON.stringify(pin)}`, 'pair');
  if (pins.length > 0) return { pins };
  const fingerprint = values.fingerprint;
  if (fingerprint === undefined) throw new UsageError('--pin is required (the server key pins `twinbox-server account add` printed)', 'pair');
  if (!CERTIFICATE_FINGERPRINT.test(fingerprint)) throw new UsageError('--fingerprint must be the SHA-256 fingerprint an older server printed (32 hex pairs: AB:CD:…); a newer one prints --pin', 'pair');
  if (!check) return { fingerprint };
  const cert = await presentedCertificate({ url, proxy: values.proxy });
  if (trustOf({ fingerprint }, cert) !== 'fingerprint') throw new TwinboxError('CERT_MISMATCH', `the server ${url} presents the certificate ${cert.fingerprint256}, not ${fingerprint}`);
  return { pins: [keyPinOf(cert)] };
}

export async function pair(values: PairValues): Promise<void> {
  const path = resolve(need(values, 'config', 'pair'));
  if (values['imap-plain']) throw new UsageError('--imap-plain is gone: use --imap-security starttls (STARTTLS, required) or --imap-security plain (no encryption at all)', 'pair');
  const secret = await gatherSecrets(values);
  const needSecret = (name: SecretName): string => {
    const value = secret(name);
    if (!value) throw new UsageError(`--${name} is required (or ${SECRETS[name]} in the environment, or ${name}=… with --secrets-stdin or in --secrets-file)`, 'pair');
    return value;
  };
  const imapSecurity = securityOption(values, 'imap-security', 'tls');
  const smtpSecurity = values['smtp-tls'] ? 'tls' : securityOption(values, 'smtp-security', 'starttls');
  const url = need(values, 'server', 'pair');
  if (!/^wss:\/\/[^/\s]+\/\S*$/.test(url)) throw new UsageError('--server must be a wss:// URL (the sync connection is always TLS), like wss://twinbox.example.com:8443/sync', 'pair');
  const check = !values['no-check'];
  const triggerSecret = secret('trigger-secret');
  const file: AgentConfigFile = {
    server: { url, ...(await serverTrust(values, url, check)), ...(values.proxy ? { proxy: values.proxy } : {}) },
    account: need(values, 'account', 'pair'),
    token: needSecret('token'),
    ...(triggerSecret ? { triggerSecret } : {}),
    imap: {
      host: need(values, 'imap-host', 'pair'),
      port: portOption(values['imap-port'], 'imap-port', defaultPort.imap[imapSecurity]),
      security: imapSecurity,
      user: need(values, 'imap-user', 'pair'),
      password: needSecret('imap-password'),
      ...(values['imap-allow-invalid-cert'] ? { allowInvalidCertificate: true } : {}),
    },
    ...(values['smtp-host']
      ? {
          smtp: {
            host: values['smtp-host'],
            port: portOption(values['smtp-port'], 'smtp-port', defaultPort.smtp[smtpSecurity]),
            security: smtpSecurity,
            ...(values['smtp-user'] ? { user: values['smtp-user'], password: secret('smtp-password') ?? '' } : {}),
          },
        }
      : {}),
    database: values.database ?? 'agent.db',
  };
  const checks = check ? await checked(file, path, 'pairing-check') : [];
  if (checks === undefined) return;
  writeAgentConfig(path, file);
  if (imapSecurity === 'plain' || (values['smtp-host'] && smtpSecurity === 'plain')) {
    console.error('twinbox-agent: warning: you chose a connection without encryption; passwords and mail cross the network in clear');
  }
  if (values.json) return void console.log(JSON.stringify({ config: path, pins: file.server.pins ?? [], checks }));
  for (const c of checks) console.log(`ok ${c.name}: ${c.detail[0] ?? ''}`);
  console.log(`wrote ${path}; run: twinbox-agent sync --config ${path}`);
}

/** Run the checks a sync depends on against a config not yet written; undefined (and exit status 1) when one fails. */
async function checked(file: AgentConfigFile, path: string, agentId: string) {
  const { runDoctor } = await import('../doctor.js');
  const checks = (await runDoctor(resolveAgentConfig(file, path), agentId)).filter((c) => c.name !== 'sync');
  const failed = checks.filter((c) => !c.ok);
  if (failed.length === 0) return checks;
  for (const c of failed) console.error(`twinbox-agent: ${c.name}: ${c.error?.message ?? 'failed'} [${c.error?.code ?? 'ERROR'}]`);
  console.error(`twinbox-agent: nothing written to ${path}: fix the above (or pass --no-check to write it untested)`);
  process.exitCode = 1;
  return undefined;
}

const SECRET_KEYS = { token: 'token', 'trigger-secret': 'triggerSecret', 'imap-password': 'imap.password', 'smtp-password': 'smtp.password' } as const;

/**
 * `twinbox-agent secrets`: new secrets for a paired agent — the token
 * `twinbox-server account token` reissued, a changed IMAP or SMTP password —
 * from --secrets-file / --secrets-stdin only (never the environment, which
 * may hold a password meant for one run), tested with them before they are
 * written. The mail and the agent's database are untouched.
 */
export async function secrets(values: PairValues): Promise<void> {
  const path = resolve(need(values, 'config', 'secrets'));
  if (values['secrets-file'] === undefined && !values['secrets-stdin']) throw new UsageError('give the new secrets with --secrets-file PATH or --secrets-stdin', 'secrets');
  const file = readAgentConfigFile(path);
  const secret = await gatherSecrets({ 'secrets-file': values['secrets-file'], 'secrets-stdin': values['secrets-stdin'] }, false);
  const given = (Object.keys(SECRET_KEYS) as SecretName[]).filter((name) => secret(name) !== undefined);
  if (given.length === 0) throw new UsageError('no token=, trigger-secret=, imap-password= or smtp-password= line was given', 'secrets');
  if (given.includes('smtp-password') && !file.smtp) throw new UsageError('smtp-password= given, but this agent has no SMTP server configured', 'secrets');
  const next: AgentConfigFile = structuredClone(file);
  if (secret('token')) next.token = secret('token')!;
  if (secret('trigger-secret')) next.triggerSecret = secret('trigger-secret')!;
  if (secret('imap-password')) next.imap.password = secret('imap-password')!;
  if (secret('smtp-password')) next.smtp!.password = secret('smtp-password')!;
  const checks = values['no-check'] ? [] : await checked(next, path, 'secrets-check');
  if (checks === undefined) return;
  writeAgentConfig(path, next);
  const names = given.map((n) => SECRET_KEYS[n]);
  if (values.json) return void console.log(JSON.stringify({ config: path, changed: names, checks }));
  for (const c of checks) console.log(`ok ${c.name}: ${c.detail[0] ?? ''}`);
  console.log(`${names.join(', ')} changed in ${path}${values['no-check'] ? ' (untested: --no-check)' : ''}`);
}
