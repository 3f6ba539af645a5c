/**
 * What went wrong connecting to the desktop IMAP server, classified at the
 * edge (issue 10) into a code, whether retrying can help, and what to change:
 *
 *   IMAP_AUTH         the server refused the login       not retryable
 *   IMAP_TLS          TLS/plain mix-up, no STARTTLS      not retryable
 *   IMAP_CERT         certificate not trusted            not retryable
 *   IMAP_UNREACHABLE  refused, no route, name unknown    retryable
 *   IMAP              anything else                      retryable
 */
import { TwinboxError, type TransportSecurity } from '@twinbox/protocol';

interface ConnectTarget {
  host: string;
  port: number;
  user: string;
  security: TransportSecurity;
}

const CERT_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED', 'CERT_REVOKED',
]);
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'ECONNRESET']);

export function classifyConnectError(err: unknown, target: ConnectTarget): TwinboxError {
  const e = (err ?? {}) as { code?: string; message?: string; authenticationFailed?: boolean; tlsFailed?: boolean; serverResponseCode?: string; responseText?: string };
  const where = `${target.host}:${target.port}`;
  const message = e.message ?? String(err);
  if (e.authenticationFailed || e.serverResponseCode === 'AUTHENTICATIONFAILED') {
    const said = e.responseText ? ` (the server said: ${e.responseText})` : '';
    return new TwinboxError('IMAP_AUTH', `the IMAP server ${where} refused the login for "${target.user}"${said}: check imap.user and the password (TWINBOX_IMAP_PASSWORD overrides the stored one)`, { cause: err });
  }
  if (e.code && CERT_CODES.has(e.code)) {
    return new TwinboxError('IMAP_CERT', `the IMAP server ${where} presented a certificate this machine does not trust (${e.code}): install its CA certificate (NODE_EXTRA_CA_CERTS), or for a test server set imap.allowInvalidCertificate`, { cause: err });
  }
  if (e.tlsFailed || /STARTTLS/i.test(message)) {
    return new TwinboxError('IMAP_TLS', `the IMAP server ${where} does not offer STARTTLS, which imap.security "starttls" requires: use "tls" (usually port 993) if it speaks TLS, or "plain" only for a server on this machine`, { cause: err });
  }
  const tlsMixup = e.code === 'ERR_SSL_WRONG_VERSION_NUMBER' || e.code === 'EPROTO' || /wrong version number|packet length too long|unknown protocol|greeting/i.test(message);
  if (tlsMixup) {
    const hint = target.security === 'tls'
      ? `imap.security is "tls" but the server on port ${target.port} does not speak TLS from the first byte: use port 993, or "starttls" on port 143`
      : `imap.security is "${target.security}" but the server on port ${target.port} did not greet in plain text (it may expect TLS from the first byte): use "tls", usually on port 993`;
    return new TwinboxError('IMAP_TLS', `TLS mismatch with the IMAP server ${where}: ${hint}`, { cause: err });
  }
  if (e.code && UNREACHABLE_CODES.has(e.code)) {
    return new TwinboxError('IMAP_UNREACHABLE', `the IMAP server ${where} cannot be reached (${e.code}): check imap.host and imap.port, and that this machine can reach it`, { cause: err });
  }
  return new TwinboxError('IMAP', `IMAP connection to ${where} failed: ${message}`, { cause: err });
}
