/**
 * How a Twinbox program protects its IMAP, SMTP and LMTP connections (issue
 * 9.8): never in clear unless the user said so. Used by the agent (desktop
 * IMAP and SMTP) and the server (relay, trigger e-mail). Pure: it maps the
 * setting to imapflow's and nodemailer's options.
 *
 *   tls       implicit TLS from the first byte (IMAP 993, SMTP 465)
 *   starttls  plain connect, then STARTTLS, required: a server that does not
 *             offer it (or a man in the middle who strips it) is refused
 *   plain     no encryption at all; only when asked for explicitly (a server
 *             on this machine, a test server)
 *
 * Configs written before this setting existed said `secure: true|false`;
 * `false` used to mean "STARTTLS when offered" and now means STARTTLS required.
 */
import { TwinboxError } from './errors.js';

export const TRANSPORT_SECURITY = ['tls', 'starttls', 'plain'] as const;
export type TransportSecurity = (typeof TRANSPORT_SECURITY)[number];

export function parseSecurity(value: unknown, what: string): TransportSecurity {
  if (typeof value === 'string' && (TRANSPORT_SECURITY as readonly string[]).includes(value)) return value as TransportSecurity;
  throw new TwinboxError('CONFIG', `${what} must be one of ${TRANSPORT_SECURITY.join(', ')}, not ${JSON.stringify(value)}`);
}

/** A config's security: `security` when set, else the older `secure` flag, else `fallback`. */
export function securityOf(c: { security?: unknown; secure?: unknown }, what: string, fallback: TransportSecurity): TransportSecurity {
  if (c.security !== undefined) return parseSecurity(c.security, what);
  if (c.secure === true) return 'tls';
  if (c.secure === false) return 'starttls';
  return fallback;
}

/** imapflow's options for it. */
export function imapSecurityOptions(security: TransportSecurity): { secure: boolean; doSTARTTLS?: boolean } {
  if (security === 'tls') return { secure: true };
  return { secure: false, doSTARTTLS: security === 'starttls' };
}

/** nodemailer's SMTP connection options for it. */
export function smtpSecurityOptions(security: TransportSecurity): { secure: boolean; requireTLS?: boolean; ignoreTLS?: boolean } {
  if (security === 'tls') return { secure: true };
  return security === 'starttls' ? { secure: false, requireTLS: true } : { secure: false, ignoreTLS: true };
}

export const defaultPort = { imap: { tls: 993, starttls: 143, plain: 143 }, smtp: { tls: 465, starttls: 587, plain: 25 } } as const;
