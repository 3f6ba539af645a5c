/**
 * Header fields as a mail app shows them (issue 18, finding 12): the phone's
 * lists and its message view show a Subject or a From decoded, never as
 * `=?UTF-8?B?…?=`.
 *
 * - RFC 6532: a header may carry raw UTF-8. Header bytes that are valid UTF-8
 *   are read as UTF-8; any other 8-bit bytes as Windows-1252 (what mail apps
 *   assume of 8-bit headers that name no charset).
 * - RFC 2047: encoded words (`=?charset?B|Q?…?=`) are decoded by libmime (the
 *   decoder mailparser and Nodemailer use), in any charset it knows.
 * - RFC 5322 §3.4: an address list is parsed (Nodemailer's addressparser)
 *   before its display names are decoded, so that an encoded comma or `<` in
 *   a name cannot split or forge an address.
 *
 * Total: nothing here throws on any input (a decoder that fails leaves the
 * text as it was); linear: input is cut at MAIL_LIMITS.headerValueChars
 * first, and every step is a single pass.
 */
import libmime from 'libmime';
import addressparser from 'nodemailer/lib/addressparser/index.js';
import { decodeWindows1252 } from './body-text.js';
import { MAIL_LIMITS } from './limits.js';

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Header bytes (a latin1 string: one character per byte) as text: RFC 6532 UTF-8, else Windows-1252. */
export function headerBytesToText(latin1: string): string {
  // eslint-disable-next-line no-control-regex
  if (!/[^\x00-\x7f]/.test(latin1)) return latin1;
  const bytes = Buffer.from(latin1, 'latin1');
  try {
    return UTF8.decode(bytes);
  } catch {
    return decodeWindows1252(bytes);
  }
}

/** Control characters (C0, DEL, C1) and line or paragraph separators: shown as a space on one line. */
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

/** Text on one line: control characters become spaces, runs of white space one space, trimmed. */
export function oneLine(text: string): string {
  return text.replace(CONTROLS, ' ').replace(/\s+/g, ' ').trim();
}

/** At most `max` UTF-16 units, never half a surrogate pair; cut text ends with an ellipsis. */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

function decodeWords(text: string): string {
  try {
    return libmime.decodeWords(text);
  } catch {
    return text;
  }
}

/** An unstructured field (Subject) as shown: raw bytes of its value → one line of text, at most `max` long. */
export function unstructuredText(latin1Value: string, max: number = MAIL_LIMITS.subjectChars): string {
  const text = headerBytesToText(latin1Value.slice(0, MAIL_LIMITS.headerValueChars));
  return cut(oneLine(decodeWords(text)), max);
}

/** RFC 5322 `specials`: a display name holding one is shown quoted, so that the result still reads as an address. */
const SPECIALS = /[()<>[\]:;@\\,."]/;

/**
 * `Name <address>` within `max` characters: a long display name is cut
 * before the address is, so that a reply still has somewhere to go.
 */
function displayAddress(name: string, address: string, max: number): string {
  const room = max - address.length - 5;
  const kept = name.length > room ? cut(name, Math.max(room, 2)) : name;
  const shownName = SPECIALS.test(kept) ? `"${kept.replace(/["\\]/g, (c) => `\\${c}`)}"` : kept;
  if (kept && address) return `${shownName} <${address}>`;
  return kept ? shownName : address;
}

type Parsed = ReturnType<typeof addressparser>;

function formatAddresses(list: Parsed, budget: { left: number }, max: number): string[] {
  const shown: string[] = [];
  for (const entry of list) {
    if (budget.left-- <= 0) break;
    const name = oneLine(decodeWords(entry.name ?? ''));
    if ('group' in entry) {
      shown.push(`${name}: ${formatAddresses(entry.group ?? [], budget, max).join(', ')};`);
      continue;
    }
    const address = oneLine(entry.address ?? '');
    if (name || address) shown.push(displayAddress(name, address, max));
  }
  return shown;
}

/**
 * An address field (From, To, Cc) as shown: `Name <address>` for each
 * address, names decoded; at most `maxAddresses` addresses. A value that does
 * not parse as addresses is shown as text.
 */
export function addressListText(latin1Value: string, max: number = MAIL_LIMITS.fromChars, maxAddresses: number = MAIL_LIMITS.fromAddresses): string {
  const text = headerBytesToText(latin1Value.slice(0, MAIL_LIMITS.headerValueChars));
  let shown: string[] = [];
  try {
    const parsed = addressparser(text);
    // Not one address in it (`<<<>>>`, a bare name): shown as the text it is.
    if (parsed.some((entry) => ('group' in entry && entry.group) || entry.address)) shown = formatAddresses(parsed, { left: maxAddresses }, max);
  } catch {
    // Not an address list: shown as text below.
  }
  return cut(shown.length > 0 ? shown.join(', ') : oneLine(decodeWords(text)), max);
}
