/**
 * A real IMAP server the testkit does not own (Courier, Cyrus: installed and
 * started by scripts/test-servers.sh), described by TWINBOX_EXTERNAL_IMAP as
 * JSON: { "name", "host", "port", "user", "password", "prefix", "separator",
 * "trash", "sent" }. The system runs against it as against the private
 * Dovecot, except that mail "delivered" to the desktop is APPENDed (there is
 * no LMTP), and it cannot be restarted, rebuilt or filled from files.
 */
import type { Dovecot } from './dovecot.js';
import type { ImapProfile } from './imap-profiles.js';

export interface ExternalImap {
  name: string;
  host: string;
  port: number;
  user: string;
  password: string;
  prefix: string;
  separator: string;
  trash: string;
  sent: string;
}

export function externalImapFromEnv(): ExternalImap | undefined {
  const raw = process.env.TWINBOX_EXTERNAL_IMAP;
  if (!raw) return undefined;
  const parsed = JSON.parse(raw) as Partial<ExternalImap>;
  for (const key of ['name', 'host', 'port', 'user', 'password', 'trash', 'sent'] as const) {
    if (parsed[key] === undefined) throw new Error(`TWINBOX_EXTERNAL_IMAP lacks ${key}`);
  }
  return { ...(parsed as ExternalImap), prefix: parsed.prefix ?? '', separator: parsed.separator ?? '/' };
}

/** The external server's folder names, as a profile for the user's desktop client. */
export function externalProfile(server: ExternalImap): ImapProfile {
  return { name: 'full', prefix: server.prefix, separator: server.separator, trash: server.trash, sent: server.sent, specialUse: false, strip: {} };
}

/** A handle on the external server in the shape the system expects of its desktop server; lmtpPort 0 means "APPEND instead". */
export function externalServerHandle(server: ExternalImap): Dovecot {
  const unsupported = (what: string) => () => {
    throw new Error(`${what} is not possible on the external ${server.name} server`);
  };
  return {
    host: server.host,
    imapPort: server.port,
    lmtpPort: 0,
    dir: '',
    users: [{ name: server.user, password: server.password }],
    profile: externalProfile(server),
    pid: 0,
    stop: async () => undefined,
    restart: async () => unsupported('a restart')(),
    writeMaildir: unsupported('writing maildir files'),
    resetInboxUidValidity: async () => unsupported('a UIDVALIDITY reset')(),
  };
}
