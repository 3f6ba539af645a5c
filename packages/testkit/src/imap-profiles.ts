/**
 * The IMAP servers corporate users sit behind, posed by the project's
 * private Dovecot (issue 10): what each advertises (Dovecot's
 * `imap_capability`), how its folders are named and whether they carry
 * SPECIAL-USE flags, and which response codes a real server of that kind
 * never sends (removed on the way to the agent by a rewriting proxy,
 * imap-rewriter.ts, because Dovecot sends them whatever it advertises).
 *
 *   full      Dovecot as it is: CONDSTORE, QRESYNC, MOVE, UIDPLUS, SPECIAL-USE, IDLE
 *   exchange  no CONDSTORE/QRESYNC/MOVE/SPECIAL-USE; "Deleted Items", "Sent Items"
 *   gmail     CONDSTORE without QRESYNC; "[Gmail]/Trash", "[Gmail]/Sent Mail" with SPECIAL-USE
 *   bare      IMAP4rev1 only: no UIDPLUS (no APPENDUID/COPYUID), MOVE, IDLE, SPECIAL-USE, ESEARCH
 *   courier   Courier's shape: "INBOX." namespace, no [UIDNEXT] in SELECT, UIDPLUS, no IDLE
 *   localized a German mailbox without SPECIAL-USE: "Papierkorb", "Gesendete Objekte"
 */
export type ImapProfileName = 'full' | 'exchange' | 'gmail' | 'bare' | 'courier' | 'localized';

export interface ImapProfile {
  name: ImapProfileName;
  /** The CAPABILITY the server advertises after login; undefined: all Dovecot has. */
  capability?: string;
  /** Personal namespace: prefix and hierarchy separator. */
  prefix: string;
  separator: string;
  /** Full paths of the Trash and Sent folders, and whether they carry \Trash / \Sent. */
  trash: string;
  sent: string;
  specialUse: boolean;
  /** Response codes removed on the way to the agent. */
  strip: { uidNext?: boolean; uidplusCodes?: boolean };
}

const BASE = 'IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE NAMESPACE CHILDREN AUTH=PLAIN';

export const IMAP_PROFILES: Record<ImapProfileName, ImapProfile> = {
  full: { name: 'full', prefix: '', separator: '/', trash: 'Trash', sent: 'Sent', specialUse: true, strip: {} },
  exchange: {
    name: 'exchange',
    capability: `${BASE} IDLE UIDPLUS`,
    prefix: '',
    separator: '/',
    trash: 'Deleted Items',
    sent: 'Sent Items',
    specialUse: false,
    strip: {},
  },
  gmail: {
    name: 'gmail',
    capability: `${BASE} IDLE UIDPLUS MOVE CONDSTORE ESEARCH SPECIAL-USE`,
    prefix: '',
    separator: '/',
    trash: '[Gmail]/Trash',
    sent: '[Gmail]/Sent Mail',
    specialUse: true,
    strip: {},
  },
  bare: { name: 'bare', capability: 'IMAP4rev1 AUTH=PLAIN', prefix: '', separator: '/', trash: 'Trash', sent: 'Sent', specialUse: false, strip: { uidplusCodes: true } },
  courier: {
    name: 'courier',
    capability: 'IMAP4rev1 UIDPLUS CHILDREN NAMESPACE SORT QUOTA AUTH=PLAIN',
    prefix: 'INBOX.',
    separator: '.',
    trash: 'INBOX.Trash',
    sent: 'INBOX.Sent',
    specialUse: false,
    strip: { uidNext: true },
  },
  localized: {
    name: 'localized',
    capability: `${BASE} IDLE UIDPLUS MOVE`,
    prefix: '',
    separator: '/',
    trash: 'Papierkorb',
    sent: 'Gesendete Objekte',
    specialUse: false,
    strip: {},
  },
};

/** The profile named by TWINBOX_IMAP_PROFILE (default `full`): lets any test file run against another server. */
export function defaultImapProfile(): ImapProfile {
  const name = (process.env.TWINBOX_IMAP_PROFILE ?? 'full') as ImapProfileName;
  const profile = IMAP_PROFILES[name];
  if (!profile) throw new Error(`TWINBOX_IMAP_PROFILE=${name}: not one of ${Object.keys(IMAP_PROFILES).join(', ')}`);
  return profile;
}
