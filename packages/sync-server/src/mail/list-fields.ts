/**
 * What the phone's lists show of a message (issue 12, issue 18): its Subject
 * and From decoded as a mail app shows them (header-text.ts: RFC 2047, RFC
 * 6532) and a preview line — the start of its first text/plain part, else of
 * its first text/html part without tags, decoded (RFC 2045 transfer
 * encodings, the part's charset), on one line, quoted lines left out.
 *
 * Computed once, when a message is stored, synchronously inside the insert's
 * transaction, so it must be cheap whatever the bytes: everything is read
 * from the first MAIL_LIMITS.listScanBytes of the message by single-pass
 * parsers (mime-parts.ts, body-text.ts, html-text.ts). Total: each field is
 * derived on its own, and a field that cannot be derived gets a plain
 * fallback (the raw header value on one line; an empty preview) and is named
 * in `problems`, for the caller to log. A message is always stored.
 */
import { headerBlockOf, parseHeaderFields } from '@twinbox/protocol';
import { cut, addressListText, oneLine, unstructuredText } from './header-text.js';
import { charsetDecode, transferDecode } from './body-text.js';
import { htmlText } from './html-text.js';
import { MAIL_LIMITS } from './limits.js';
import { mimeLeaves, type MimeLeaf } from './mime-parts.js';

export interface ListFields {
  subject: string;
  from: string;
  preview: string;
}

export interface DerivedListFields extends ListFields {
  /** Fields that fell back to the plain value, with the reason (for a log line). */
  problems: string[];
}

/** A leaf's text (it is within the scanned prefix); an HTML part's without its tags. */
function leafText(leaf: MimeLeaf, html: boolean): string {
  const text = charsetDecode(transferDecode(leaf.body, leaf.headers.get('content-transfer-encoding')), leaf.params.charset);
  // An HTML part's text is much shorter than its markup: keep a little more than a preview of it.
  return html ? htmlText(text, MAIL_LIMITS.previewChars * 8) : text;
}

const isAttachment = (leaf: MimeLeaf) => /^\s*attachment/i.test(leaf.headers.get('content-disposition') ?? '');

/** The start of a text on one line, quoted lines (`>`) left out: lines are taken until there is enough. */
function previewOfText(text: string): string {
  const taken: string[] = [];
  let length = 0;
  let at = 0;
  while (at < text.length && length <= MAIL_LIMITS.previewChars) {
    const end = text.indexOf('\n', at);
    const line = oneLine(text.slice(at, end < 0 ? text.length : end));
    at = end < 0 ? text.length : end + 1;
    if (line === '' || line.startsWith('>')) continue;
    taken.push(line);
    length += line.length + 1;
  }
  return cut(taken.join(' '), MAIL_LIMITS.previewChars);
}

function previewOfLeaves(leaves: MimeLeaf[]): string {
  const readable = leaves.filter((leaf) => !isAttachment(leaf));
  const plain = readable.find((leaf) => leaf.type === 'text/plain');
  const html = plain ? undefined : readable.find((leaf) => leaf.type === 'text/html');
  const chosen = plain ?? html;
  return chosen ? previewOfText(leafText(chosen, chosen === html)) : '';
}

function attempt<T>(field: string, problems: string[], derive: () => T, fallback: () => T): T {
  try {
    return derive();
  } catch (err) {
    problems.push(`${field}: ${(err as Error)?.message ?? String(err)}`);
    try {
      return fallback();
    } catch {
      return '' as T;
    }
  }
}

export function deriveListFields(raw: Buffer): DerivedListFields {
  const problems: string[] = [];
  // Without a structure, the header fields as the fingerprint reads them (and no preview).
  const parsed = attempt('structure', problems, () => mimeLeaves(raw), () => ({ headers: parseHeaderFields(headerBlockOf(raw.subarray(0, MAIL_LIMITS.listScanBytes))), leaves: [] }));
  const subjectValue = parsed.headers.get('subject') ?? '';
  const fromValue = parsed.headers.get('from') ?? '';
  const plain = (value: string, max: number) => cut(oneLine(value), max);
  return {
    subject: attempt('subject', problems, () => unstructuredText(subjectValue), () => plain(subjectValue, MAIL_LIMITS.subjectChars)),
    from: attempt('from', problems, () => addressListText(fromValue), () => plain(fromValue, MAIL_LIMITS.fromChars)),
    preview: attempt('preview', problems, () => previewOfLeaves(parsed.leaves), () => ''),
    problems,
  };
}
