/**
 * The agent's config file as a schema (zod): every key it may hold, what each
 * must be, and nothing else — a misspelt key is refused with the nearest
 * known one (@twinbox/cli config-file.ts), never ignored. README
 * "Configuration" lists the keys; docs/trust.md the server's pins.
 *
 * Keys of older versions are still accepted: `server.fingerprint` (a pairing
 * from before key pins: the whole certificate, migrated to a pin at the next
 * sync) and `imap.secure`/`smtp.secure` (before `security`).
 */
import { z } from 'zod';
import { CERTIFICATE_FINGERPRINT, KEY_PIN, TRANSPORT_SECURITY } from '@twinbox/protocol';

const text = z.string().min(1, 'must not be empty');
const port = z.number().int().min(1, 'must be a port, 1 to 65535').max(65535, 'must be a port, 1 to 65535');
const seconds = z.number().positive('must be a positive number of seconds');
const security = z.enum(TRANSPORT_SECURITY);

export const SERVER_SCHEMA = z
  .strictObject({
    url: z.string().regex(/^wss:\/\/[^/\s]+\/\S*$/, 'must be a wss:// URL (the sync connection is always TLS), like wss://twinbox.example.com:8443/sync'),
    /** Pins of the server's public key (the one in use, and a backup): docs/trust.md. */
    pins: z.array(z.string().regex(KEY_PIN, 'must be a key pin sha256//… (44 base64 characters), as twinbox-server certificate prints it')).min(1, 'must list at least one pin').optional(),
    /** Before key pins: the SHA-256 of the whole certificate (AB:CD:…); replaced by a pin at the next sync. */
    fingerprint: z.string().regex(CERTIFICATE_FINGERPRINT, 'must be 32 hex pairs AB:CD:… (or give server.pins)').optional(),
    /** An HTTP proxy for the sync connection, or "direct" (transport/proxy.ts); default HTTPS_PROXY/NO_PROXY. */
    proxy: z.union([z.literal('direct'), z.string().regex(/^https?:\/\/\S+$/, 'must be http://[user:password@]host:port or "direct"')]).optional(),
  })
  .refine((s) => s.pins !== undefined || s.fingerprint !== undefined, { message: 'needs pins (the server key pins, sha256//…): pair again, or twinbox-agent repin', path: ['pins'] });

const IMAP_SCHEMA = z.strictObject({
  host: text,
  port: port.optional(),
  security: security.optional(),
  /** Before `security`: true = tls, false = starttls. */
  secure: z.boolean().optional(),
  user: text,
  password: z.string().optional(),
  allowInvalidCertificate: z.boolean().optional(),
  /** false: find changes by comparison, for servers whose CONDSTORE is broken. */
  qresync: z.boolean().optional(),
  keepaliveSeconds: seconds.optional(),
  pollSeconds: seconds.optional(),
  trashFolder: text.optional(),
  sentFolder: text.optional(),
});

const SMTP_SCHEMA = z.strictObject({
  host: text,
  port: port.optional(),
  security: security.optional(),
  secure: z.boolean().optional(),
  user: z.string().optional(),
  password: z.string().optional(),
  allowInvalidCertificate: z.boolean().optional(),
});

export const AGENT_CONFIG_SCHEMA = z.strictObject({
  server: SERVER_SCHEMA,
  account: text,
  token: text,
  triggerSecret: text.optional(),
  imap: IMAP_SCHEMA,
  smtp: SMTP_SCHEMA.optional(),
  /** When `twinbox-agent run` syncs without being asked: a cron expression, or "off" (checked by schedule.ts). */
  schedule: text.optional(),
  /** The agent's SQLite database, relative to the config file. */
  database: text.optional(),
});

export type AgentConfigFile = z.infer<typeof AGENT_CONFIG_SCHEMA>;
