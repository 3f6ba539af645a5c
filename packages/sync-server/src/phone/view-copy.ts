/**
 * The copy of a stored message that mailparser is given for the phone's view
 * (issue 18). mailparser decodes a text part whole and at once, and its
 * quoted-printable decoder (libqp) strips trailing white space with
 * `/[\t ]+$/gm`, quadratic in a run of spaces that does not end its line:
 * 34,000 spaces in one line of a part stall the server 5 s; 5 MB of 64-space
 * runs, 2 s. So, in one streaming pass over the MIME structure with
 * mailparser's own splitter (@zone-eu/mailsplit, linear), before mailparser
 * sees it:
 *
 * - a quoted-printable body gets a soft line break (`=` CRLF, RFC 2045 §6.7
 *   rule 5: decodes to nothing) after every QP_RUN spaces or tabs of a run,
 *   so that no run is longer: the decoded content is the same, byte for byte;
 * - a body that mailparser shows as text (text/plain, text/html and
 *   message/delivery-status, not an attachment: its own rule) is cut after
 *   MAIL_LIMITS.viewTextPartBytes: the view shows less than that anyway, and
 *   the message is marked clipped.
 *
 * Attachments are never cut, so the attachment list and every attachment's
 * bytes are those of the message. The stored message is not changed, and a
 * message that needs neither is given to mailparser as it is.
 */
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Joiner, Splitter, type SplitterChunk } from '@zone-eu/mailsplit';
import { MAIL_LIMITS } from '../mail/limits.js';

type MimeNode = Extract<SplitterChunk, { type: 'node' }>;

/** Longest run of spaces and tabs left in a quoted-printable line. */
const QP_RUN = 16;
const SOFT_BREAK = Buffer.from('=\r\n');
const LINE_BREAK = Buffer.from('\r\n');
const TEXT_TYPES = new Set(['text/plain', 'text/html', 'message/delivery-status']);
const CHUNK = 64 * 1024;

/** mailparser's rule: a text type that is not an attachment is shown as the message's text. */
function shownAsText(node: MimeNode): boolean {
  const type = node.contentType || (node.root ? 'text/plain' : '');
  return !node.multipart && TEXT_TYPES.has(type) && (!node.disposition || node.disposition === 'inline');
}

class ViewCopyTransform extends Transform {
  clipped = false;
  /** A run was broken or a part cut (else the message is given to mailparser as it is). */
  changed = false;
  private node: MimeNode | undefined;
  private run = 0;
  private bodyBytes = 0;

  constructor() {
    super({ objectMode: true });
  }

  /** Soft line breaks in the runs of a quoted-printable chunk (the run goes on across chunks). */
  private breakRuns(value: Buffer): Buffer {
    const pieces: Buffer[] = [];
    let from = 0;
    for (let i = 0; i < value.length; i++) {
      const c = value[i];
      if (c !== 0x20 && c !== 0x09) {
        this.run = 0;
        continue;
      }
      if (++this.run > QP_RUN) {
        this.changed = true;
        pieces.push(value.subarray(from, i), SOFT_BREAK);
        from = i;
        this.run = 1;
      }
    }
    if (pieces.length === 0) return value;
    pieces.push(value.subarray(from));
    return Buffer.concat(pieces);
  }

  override _transform(chunk: SplitterChunk, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.type !== 'body' || !chunk.value) {
      this.push(chunk);
      return callback();
    }
    if (chunk.node !== this.node) {
      this.node = chunk.node;
      this.run = 0;
      this.bodyBytes = 0;
    }
    let value: Buffer = chunk.value;
    if (shownAsText(chunk.node)) {
      const room = MAIL_LIMITS.viewTextPartBytes - this.bodyBytes;
      if (room <= 0) {
        this.changed = true;
        return callback();
      }
      if (value.length > room) {
        // Cut where a line ends, so that whatever follows (a boundary) still starts a line.
        value = Buffer.concat([value.subarray(0, room), LINE_BREAK]);
        this.clipped = true;
        this.changed = true;
      }
      this.bodyBytes += value.length;
    }
    if (chunk.node.encoding === 'quoted-printable') value = this.breakRuns(value);
    this.push({ ...chunk, value });
    return callback();
  }
}

/** A message as a stream of 64 KiB chunks: a stream parser given it whole would work through all of it in one turn of the event loop. */
export function inChunks(raw: Buffer): Readable {
  return Readable.from(
    (function* () {
      for (let at = 0; at < raw.length; at += CHUNK) yield raw.subarray(at, at + CHUNK);
    })(),
  );
}

export async function viewCopy(raw: Buffer, splitter: { maxHeadSize: number; maxChildNodes: number }): Promise<{ raw: Buffer; clipped: boolean }> {
  const transform = new ViewCopyTransform();
  const chunks: Buffer[] = [];
  await pipeline(inChunks(raw), new Splitter(splitter), transform, new Joiner(), async (joined: AsyncIterable<Buffer>) => {
    for await (const chunk of joined) chunks.push(chunk);
  });
  // The splitter and joiner do not give back every byte of every odd message (a line after a boundary look-alike): unchanged, the message is used as it is.
  return { raw: transform.changed ? Buffer.concat(chunks) : raw, clipped: transform.clipped };
}
