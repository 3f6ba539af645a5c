/**
 * A stored message as the phone shows it: headers, text and HTML bodies and
 * the attachment list. Attachment bytes are served separately, on request.
 *
 * Hostile mail must not stall the server here either (issue 18): the MIME
 * structure is parsed by mailparser, streaming and asynchronous, with the
 * steps of its that are not linear turned off (its HTML-to-text, its
 * text-to-HTML), bounds on a part's header block and the number of parts
 * (MAIL_LIMITS), given only the top header fields it is used for, and a
 * copy in which no text part is longer than the view needs and no
 * quoted-printable line holds a long run of spaces (view-copy.ts). What the server then does synchronously is bounded and
 * linear: the header fields as the lists show them (mail/header-text.ts),
 * the text of an HTML-only message (mail/html-text.ts), the HTML clipped by
 * size and nesting depth before the sanitizer sees it, and inline images
 * (cid:) made data: URLs in one pass.
 *
 * Total: a message mailparser refuses (more parts than the limit, a header
 * block too large) is shown as the start of its source, with a log line.
 */
import { OMITTED_HEADER, type Logger, type OmittedPart } from '@twinbox/protocol';
import { simpleParser, type Attachment, type ParsedMail, type SimpleParserOptions } from 'mailparser';
import { addressListText, unstructuredText } from '../mail/header-text.js';
import { clipHtml, htmlText } from '../mail/html-text.js';
import { MAIL_LIMITS } from '../mail/limits.js';
import { topHeaderFields } from '../mail/mime-parts.js';
import { inChunks, viewCopy } from './view-copy.js';

export interface RenderedMessage {
  subject: string;
  from: string;
  to: string;
  cc: string;
  date: string | null;
  messageId: string | null;
  /** Its References field's message IDs (for a reply's References: RFC 5322 §3.6.4). */
  references: string[];
  text: string;
  html: string | null;
  /** `onDesktop`: a part the preview left out (docs/reach.md "Preview first"): its bytes come from the desktop when asked for. */
  attachments: { index: number; filename: string | null; contentType: string; size: number; onDesktop?: true }[];
  /** Its body is longer (or nests deeper) than the phone shows: what is shown is its start. */
  clipped: boolean;
}

/** mailparser's options, with the MIME splitter's limits it passes on (not in its type declarations). */
const PARSE_OPTIONS: SimpleParserOptions & { maxHeadSize: number; maxChildNodes: number } = {
  skipHtmlToText: true,
  skipTextToHtml: true,
  skipTextLinks: true,
  skipImageLinks: true,
  maxHeadSize: MAIL_LIMITS.viewHeadBytes,
  maxChildNodes: MAIL_LIMITS.viewParts,
};

/** Runs of CR and LF longer than this have their bare CRs made spaces before mailparser sees them. */
const LONGEST_LINE_BREAK_RUN = 32;

/**
 * A copy of the message mailparser can parse in linear time: its MIME
 * splitter trims every header block with `/[\r\n]+$/`, which is quadratic on
 * a long run of CR and LF inside it (52,000 bare CRs in a header: 2.3 s; the
 * 256 KiB a header block may hold: about a minute). Bare CRs (RFC 5322 allows
 * CR only before LF) in a run longer than LONGEST_LINE_BREAK_RUN become
 * spaces: same length, same structure, nothing a reader would see. The
 * message itself is stored and synced as it is.
 */
export function defuseLineBreakRuns(raw: Buffer): Buffer {
  let copy: Buffer | undefined;
  let runStart = -1;
  for (let i = 0; i <= raw.length; i++) {
    const c = raw[i];
    if (c === 0x0d || c === 0x0a) {
      if (runStart < 0) runStart = i;
      continue;
    }
    if (runStart >= 0 && i - runStart > LONGEST_LINE_BREAK_RUN) {
      copy ??= Buffer.from(raw);
      for (let j = runStart; j < i; j++) if (copy[j] === 0x0d && copy[j + 1] !== 0x0a) copy[j] = 0x20;
    }
    runStart = -1;
  }
  return copy ?? raw;
}

/** The message's own header fields the view takes from mailparser (the rest, addresses and subject, come from shownHeaders). */
const PARSED_FIELDS = new Set(['content-type', 'content-transfer-encoding', 'content-disposition', 'content-id', 'mime-version', 'date', 'message-id', 'references', 'in-reply-to', OMITTED_HEADER.toLowerCase()]);

/**
 * The message with only PARSED_FIELDS in its top header block: mailparser
 * decodes every field, at some 27 µs per address of an address list (1.4 s
 * for a Cc field of 250 KB), and the view does not use what it makes of
 * them. The body, and every part's header, is left as it is. One pass.
 */
export function withParsedFieldsOnly(raw: Buffer): Buffer {
  const kept: Buffer[] = [];
  let keep = false;
  let line = 0;
  while (line < raw.length) {
    // The empty line: the body follows, whole.
    if (raw[line] === 0x0a || (raw[line] === 0x0d && raw[line + 1] === 0x0a)) return Buffer.concat([...kept, raw.subarray(line)]);
    const lineBreak = raw.indexOf(0x0a, line);
    const end = lineBreak < 0 ? raw.length : lineBreak + 1;
    // A folded line belongs to the field above it.
    if (raw[line] !== 0x20 && raw[line] !== 0x09) {
      const colon = raw.subarray(line, end).indexOf(0x3a);
      keep = colon > 0 && PARSED_FIELDS.has(raw.toString('latin1', line, line + colon).trim().toLowerCase());
    }
    if (keep) kept.push(raw.subarray(line, end));
    line = end;
  }
  return Buffer.concat(kept);
}

/** mailparser's parse of the view copy (view-copy.ts); `clipped` when a text part was cut for it. */
async function parse(raw: Buffer): Promise<{ parsed: ParsedMail; clipped: boolean }> {
  const copy = await viewCopy(defuseLineBreakRuns(withParsedFieldsOnly(raw)), PARSE_OPTIONS);
  return { parsed: await simpleParser(inChunks(copy.raw), PARSE_OPTIONS), clipped: copy.clipped };
}

/** The header fields as the lists show them (one rule for both: mail/header-text.ts). */
function shownHeaders(raw: Buffer): Pick<RenderedMessage, 'subject' | 'from' | 'to' | 'cc'> {
  const fields = topHeaderFields(raw);
  const recipients = (name: string) => addressListText(fields.get(name) ?? '', MAIL_LIMITS.viewAddressChars, MAIL_LIMITS.viewAddresses);
  // The message view shows its fields whole (as far as MAIL_LIMITS.viewAddressChars): the lists cut them shorter.
  return {
    subject: unstructuredText(fields.get('subject') ?? '', MAIL_LIMITS.viewAddressChars),
    from: addressListText(fields.get('from') ?? '', MAIL_LIMITS.viewAddressChars, MAIL_LIMITS.fromAddresses),
    to: recipients('to'),
    cc: recipients('cc'),
  };
}

const isInlineImage = (a: Attachment) => a.cid !== undefined && /^image\/[\w.+-]+$/i.test(a.contentType);

/** cid: references to the message's own images become data: URLs (the only images the view shows before "show images"). */
function inlineImages(html: string, attachments: Attachment[]): string {
  const byCid = new Map<string, Attachment>();
  for (const a of attachments) if (isInlineImage(a) && !byCid.has(a.cid!)) byCid.set(a.cid!, a);
  if (byCid.size === 0) return html;
  const urls = new Map<string, string>();
  let budget: number = MAIL_LIMITS.viewInlineImageBytes;
  return html.replace(/\bcid:([^'"\s]{1,256})/g, (reference, cid: string) => {
    const image = byCid.get(cid);
    if (!image) return reference;
    let url = urls.get(cid);
    if (url === undefined) {
      url = `data:${image.contentType};base64,${image.content.toString('base64')}`;
      urls.set(cid, url);
    }
    if (url.length > budget) return reference;
    budget -= url.length;
    return url;
  });
}

function asList(value: string | string[] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** A message mailparser refused, shown as the start of its source. */
function sourceView(raw: Buffer): RenderedMessage {
  return {
    ...shownHeaders(raw),
    date: null,
    messageId: null,
    references: [],
    text: new TextDecoder('utf-8').decode(raw.subarray(0, MAIL_LIMITS.viewSourceChars)),
    html: null,
    attachments: [],
    clipped: raw.length > MAIL_LIMITS.viewSourceChars,
  };
}

export interface RenderOptions {
  /** cid: references in the HTML become data: URLs of their parts (for the message view). */
  inlineImages?: boolean;
  /** The text of a message that has only HTML, taken from its HTML (default; the view, which shows the HTML, needs none). */
  textOfHtml?: boolean;
  /** The parts a preview left out (PhoneMessage.heldParts), shown with their own size. */
  heldParts?: OmittedPart[] | null;
  log?: Logger;
}

export async function renderMessage(raw: Buffer, options: RenderOptions = {}): Promise<RenderedMessage> {
  let parsed: ParsedMail;
  let partClipped: boolean;
  try {
    ({ parsed, clipped: partClipped } = await parse(raw));
  } catch (err) {
    options.log?.warn('message shown as its source: mailparser refused it', { error: (err as Error)?.message ?? String(err), bytes: raw.length });
    return sourceView(raw);
  }
  const fullHtml = typeof parsed.html === 'string' && parsed.html !== '' ? parsed.html : null;
  const clippedHtml = fullHtml === null ? null : clipHtml(fullHtml, { chars: MAIL_LIMITS.viewHtmlChars, depth: MAIL_LIMITS.viewHtmlDepth, tokens: MAIL_LIMITS.viewHtmlTokens });
  const html = clippedHtml === null ? null : options.inlineImages ? inlineImages(clippedHtml.html, parsed.attachments) : clippedHtml.html;
  // An HTML-only message's text is its HTML's (mailparser's own conversion is turned off: it is not linear).
  const fullText = parsed.text?.trim() ? parsed.text : fullHtml !== null && options.textOfHtml !== false ? htmlText(fullHtml, MAIL_LIMITS.viewTextChars + 1) : '';
  const text = fullText.slice(0, MAIL_LIMITS.viewTextChars);
  return {
    ...shownHeaders(raw),
    date: parsed.date && !Number.isNaN(parsed.date.getTime()) ? parsed.date.toISOString() : null,
    messageId: parsed.messageId ?? null,
    references: asList(parsed.references),
    text,
    html,
    attachments: parsed.attachments.map((a, index) => {
      const held = heldPartOf(a, options.heldParts);
      return { index, filename: a.filename ?? null, contentType: a.contentType, size: held?.size ?? a.size, ...(held ? { onDesktop: true as const } : {}) };
    }),
    clipped: partClipped || (clippedHtml?.clipped ?? false) || fullText.length > text.length,
  };
}

/**
 * The part a preview left out that this attachment stands for: its `X-Twinbox-Omitted` field names a section
 * the server's own record of the preview lists (the field alone is the mail's text: any sender can write it).
 */
function heldPartOf(a: Attachment, heldParts: OmittedPart[] | null | undefined): OmittedPart | undefined {
  if (!heldParts || a.size > 0) return undefined;
  const field = a.headers.get(OMITTED_HEADER.toLowerCase());
  const partId = typeof field === 'string' ? /^part=([\d.]{1,80});/.exec(field)?.[1] : undefined;
  return partId === undefined ? undefined : heldParts.find((p) => p.partId === partId);
}

export type AttachmentContent = { filename: string | null; contentType: string; content: Buffer } | { filename: string | null; contentType: string; held: OmittedPart };

export async function attachmentOf(raw: Buffer, index: number, log?: Logger, heldParts?: OmittedPart[] | null): Promise<AttachmentContent | undefined> {
  let parsed: ParsedMail;
  try {
    ({ parsed } = await parse(raw));
  } catch (err) {
    log?.warn('attachment not served: mailparser refused the message', { error: (err as Error)?.message ?? String(err), bytes: raw.length });
    return undefined;
  }
  const a = parsed.attachments[index];
  if (!a) return undefined;
  const held = heldPartOf(a, heldParts);
  return held ? { filename: a.filename ?? null, contentType: a.contentType, held } : { filename: a.filename ?? null, contentType: a.contentType, content: a.content };
}
