/**
 * One desktop message (JMAP Email/get, RFC 8621 §4.2): BODYSTRUCTURE, the
 * header block, flags, and its text parts up to maxBodyValueBytes each
 * (isTruncated says when cut); and one part's bytes (a blob), streamed with
 * imapflow's download(): partial FETCHes of a chunk each, BINARY (RFC 3516)
 * where the server has it, so the server decodes and the agent never holds
 * the part whole (download() waits for its reader).
 */
import type { ImapFlow } from 'imapflow';
import { REQUEST_LIMITS, type MessageParams, type MessageResult, type PartParams, type PartResult } from '@twinbox/protocol';
import { openRef } from './folders.js';
import type { LaneContext } from './lane.js';
import { bodiesOf, leavesOf } from './structure.js';
import { RequestFailure } from './failure.js';

async function fetchStructure(client: ImapFlow, uid: number) {
  const m = await client.fetchOne(String(uid), { uid: true, flags: true, internalDate: true, size: true, bodyStructure: true, headers: true }, { uid: true });
  if (!m || m.uid !== uid) throw new RequestFailure('NOT_FOUND', `message ${uid} is not in the folder any more`);
  return m;
}

/** A text part as UTF-8 (download() decodes its charset), up to `max` bytes. */
async function textOf(client: ImapFlow, uid: number, partId: string, max: number): Promise<{ value: string; isTruncated: boolean }> {
  const download = await client.download(String(uid), partId, { uid: true, maxBytes: max * 4 + 1024 });
  if (!download.content) return { value: '', isTruncated: false };
  const chunks: Buffer[] = [];
  let size = 0;
  let isTruncated = false;
  for await (const chunk of download.content as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > max) {
      isTruncated = true;
      download.content.destroy();
      break;
    }
  }
  const bytes = Buffer.concat(chunks).subarray(0, max);
  // A cut may split a character: the string ends with U+FFFD, and isTruncated says so.
  return { value: bytes.toString('utf8'), isTruncated };
}

export async function message(lane: LaneContext, params: MessageParams): Promise<MessageResult> {
  const { client } = lane;
  await openRef(client, params.ref, false);
  const m = await fetchStructure(client, params.ref.uid);
  const parts = leavesOf(m.bodyStructure).map(({ encoding: _encoding, ...part }) => part);
  const { textBody, htmlBody } = bodiesOf(m.bodyStructure);
  const bodyValues: MessageResult['bodyValues'] = {};
  if (params.maxBodyValueBytes > 0) {
    for (const partId of [...new Set([...textBody, ...htmlBody])]) bodyValues[partId] = await textOf(client, params.ref.uid, partId, params.maxBodyValueBytes);
  }
  const headers = (m.headers ?? Buffer.alloc(0)).subarray(0, REQUEST_LIMITS.maxHeaderBytes).toString('latin1');
  return {
    ref: params.ref,
    receivedAt: m.internalDate ? new Date(m.internalDate).getTime() : 0,
    seen: m.flags?.has('\\Seen') ?? false,
    flagged: m.flags?.has('\\Flagged') ?? false,
    size: m.size ?? 0,
    headers,
    parts,
    bodyValues,
    textBody,
    htmlBody,
  };
}

export interface PartSink {
  /** The part's description, before its bytes. */
  begin(meta: PartResult): void;
  /** Resolves when the bytes are on their way (within the server's credit). */
  write(chunk: Buffer): Promise<void>;
  end(): void;
}

/** Stream one part to `sink` in chunks of at most REQUEST_LIMITS.chunkBytes. */
export async function part(lane: LaneContext, params: PartParams, sink: PartSink, signal: AbortSignal): Promise<void> {
  const { client } = lane;
  await openRef(client, params.ref, false);
  const m = await fetchStructure(client, params.ref.uid);
  const leaf = leavesOf(m.bodyStructure).find((l) => l.partId === params.partId);
  if (!leaf) throw new RequestFailure('NOT_FOUND', `message ${params.ref.uid} has no part ${params.partId}`);
  const binary = client.capabilities.has('BINARY');
  const download = await client.download(String(params.ref.uid), params.partId, { uid: true, binary, chunkSize: REQUEST_LIMITS.chunkBytes, decodeText: false });
  if (!download.content) throw new RequestFailure('NOT_FOUND', `part ${params.partId} could not be read`);
  const content = download.content;
  const stop = () => content.destroy();
  signal.addEventListener('abort', stop, { once: true });
  try {
    sink.begin({ size: download.meta.expectedSize || leaf.size, type: leaf.type, name: leaf.name });
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const flush = async () => {
      if (pendingBytes === 0) return;
      const chunk = Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      for (let at = 0; at < chunk.length; at += REQUEST_LIMITS.chunkBytes) await sink.write(chunk.subarray(at, at + REQUEST_LIMITS.chunkBytes));
    };
    for await (const piece of content as AsyncIterable<Buffer>) {
      pending.push(piece);
      pendingBytes += piece.length;
      if (pendingBytes >= REQUEST_LIMITS.chunkBytes) await flush();
    }
    await flush();
    if (signal.aborted) throw new RequestFailure('CANCELLED', 'cancelled');
    sink.end();
  } finally {
    signal.removeEventListener('abort', stop);
  }
}
