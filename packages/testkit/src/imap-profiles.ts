/**
 * The IMAP servers corporate users sit behind, posed by the project's
 * private Dovecot (issues 10 and 18): what each advertises (Dovecot's
 * `imap_capability`), how its folders are named and whether they carry
 * SPECIAL-USE flags, which response codes a real server of that kind never
 * sends, and which commands it advertises and then refuses (the last two done
 * on the way to the agent by a rewriting proxy, imap-rewriter.ts, because
 * Dovecot answers whatever it advertises).
 *
 *   full             Dovecot as it is: CONDSTORE, QRESYNC, MOVE, UIDPLUS, SPECIAL-USE, IDLE, SORT, ESEARCH
 *   exchange         no CONDSTORE/QRESYNC/MOVE/SPECIAL-USE; "Deleted Items", "Sent Items"
 *   gmail            CONDSTORE without QRESYNC; "[Gmail]/Trash", "[Gmail]/Sent Mail" with SPECIAL-USE
 *   bare             IMAP4rev1 only: no UIDPLUS (no APPENDUID/COPYUID), MOVE, IDLE, SPECIAL-USE, ESEARCH
 *   courier          stock Courier 5.0.13: "INBOX." namespace, no [UIDNEXT] in SELECT, UIDPLUS, SORT, no IDLE,
 *                    UTF8=ACCEPT enabled, and then a SORT or SEARCH in another charset than UTF-8 refused
 *                    exactly as Courier does
 *   courier-nosort   Courier with IMAP_DISABLETHREADSORT=1 (its documented setting): SORT still advertised,
 *                    every SORT refused
 *   qresync-refused  advertises QRESYNC and refuses its forms (SELECT … QRESYNC, FETCH … VANISHED); CONDSTORE works
 *   refusing         advertises all Dovecot has and refuses SORT, the QRESYNC and CONDSTORE forms, MOVE,
 *                    UID EXPUNGE, ESEARCH's RETURN, SEARCH HEADER and IDLE
 *   localized        a German mailbox without SPECIAL-USE: "Papierkorb", "Gesendete Objekte"
 */
import type { RefusalRule, RewriteRules } from './imap-rewriter.js';

export type ImapProfileName = 'full' | 'exchange' | 'gmail' | 'bare' | 'courier' | 'courier-nosort' | 'qresync-refused' | 'refusing' | 'localized';

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
  /** Extensions the posed server enables that Dovecot does not know (added to `* ENABLED`). */
  enabled?: string[];
  /** Commands it advertises and refuses, with its answer. */
  refuse?: RefusalRule[];
}

/** What the rewriting proxy does for this profile. */
export function rewriteRulesOf(profile: ImapProfile): RewriteRules {
  return { ...profile.strip, ...(profile.enabled ? { enabled: profile.enabled } : {}), ...(profile.refuse ? { refuse: profile.refuse } : {}) };
}

const BASE = 'IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE NAMESPACE CHILDREN AUTH=PLAIN';

/** Stock Courier's CAPABILITY (imapd's IMAP_CAPABILITY, and what imapd adds: ACL, ENABLE, UTF8=ACCEPT), less IDLE, whose notifications are off by default. */
const COURIER = 'IMAP4rev1 UIDPLUS CHILDREN NAMESPACE THREAD=ORDEREDSUBJECT THREAD=REFERENCES SORT QUOTA ACL ACL2=UNION ENABLE UTF8=ACCEPT AUTH=PLAIN';

/**
 * What Courier 5.0.13 (courier-libs imap/imapd.c, validate_charset) answers
 * once UTF8=ACCEPT is enabled — imapflow always enables it — to a SORT or
 * SEARCH in another charset: the agent's `UID SORT (REVERSE ARRIVAL)
 * US-ASCII …` got the first (issue 18, finding 11).
 */
const COURIER_UTF8_ONLY: RefusalRule[] = [
  { command: /^(UID )?SORT \([^)]*\) (?!UTF-8 )/i, answer: 'BAD [BADCHARSET] Only UTF-8 charset is valid after enabling RFC 6855 support' },
  { command: /^(UID )?THREAD \S+ (?!UTF-8 )/i, answer: 'BAD [BADCHARSET] Only UTF-8 charset is valid after enabling RFC 6855 support' },
  { command: /^(UID )?SEARCH CHARSET (?!UTF-8 )/i, answer: 'NO CHARSET is not valid in UTF8 mode as per RFC 6855' },
];

/** Dovecot's answer to a command or argument it does not know, as servers without the extension give it. */
const unknown = (what: string) => `BAD Error in IMAP command ${what}: Unknown command.`;

const REFUSE_QRESYNC: RefusalRule[] = [
  { command: /^(SELECT|EXAMINE) .*\(QRESYNC /i, answer: 'BAD Error in IMAP command SELECT: Unknown parameter QRESYNC' },
  { command: /^UID FETCH .*\(CHANGEDSINCE \d+ VANISHED\)/i, answer: 'BAD Error in IMAP command UID FETCH: Unknown FETCH modifier VANISHED' },
];

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
    capability: COURIER,
    prefix: 'INBOX.',
    separator: '.',
    trash: 'INBOX.Trash',
    sent: 'INBOX.Sent',
    specialUse: false,
    strip: { uidNext: true },
    enabled: ['UTF8=ACCEPT'],
    refuse: COURIER_UTF8_ONLY,
  },
  'courier-nosort': {
    name: 'courier-nosort',
    capability: COURIER,
    prefix: 'INBOX.',
    separator: '.',
    trash: 'INBOX.Trash',
    sent: 'INBOX.Sent',
    specialUse: false,
    strip: { uidNext: true },
    enabled: ['UTF8=ACCEPT'],
    // imapd.c: with IMAP_DISABLETHREADSORT set, "Those capabilities will still be advertised, but the server will reject them".
    refuse: [{ command: /^(UID )?(SORT|THREAD) /i, answer: 'NO This command is disabled by the system administrator.' }, ...COURIER_UTF8_ONLY],
  },
  'qresync-refused': { name: 'qresync-refused', prefix: '', separator: '/', trash: 'Trash', sent: 'Sent', specialUse: true, strip: {}, refuse: REFUSE_QRESYNC },
  refusing: {
    name: 'refusing',
    prefix: '',
    separator: '/',
    trash: 'Trash',
    sent: 'Sent',
    specialUse: true,
    strip: {},
    refuse: [
      ...REFUSE_QRESYNC,
      { command: /^(UID )?SORT /i, answer: unknown('UID SORT') },
      { command: /^(UID )?FETCH .*\(CHANGEDSINCE /i, answer: 'BAD Error in IMAP command UID FETCH: Unknown FETCH modifier CHANGEDSINCE' },
      { command: /^STATUS .*HIGHESTMODSEQ/i, answer: 'BAD Error in IMAP command STATUS: Invalid status item HIGHESTMODSEQ' },
      { command: /^(UID )?MOVE /i, answer: unknown('UID MOVE') },
      { command: /^UID EXPUNGE /i, answer: unknown('UID EXPUNGE') },
      { command: /^(UID )?SEARCH RETURN /i, answer: 'BAD Error in IMAP command UID SEARCH: Unknown argument RETURN' },
      { command: /^(UID )?SEARCH .*\bHEADER\b/i, answer: 'NO [CANNOT] Searching headers is not supported' },
      { command: /^IDLE$/i, answer: unknown('IDLE') },
    ],
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
