/**
 * Frame layout (one WebSocket binary message = one frame):
 *
 *   ┌──────────────┬────────────────────────┬──────────────────────┐
 *   │ u32 BE: n    │ n bytes: JSON header    │ rest: raw body bytes │
 *   └──────────────┴────────────────────────┴──────────────────────┘
 *
 * The header is the message; the body is present only for messages that carry
 * a mail message (see `carriesBody`), so mail travels as raw bytes, never base64.
 */
import { TwinboxError } from './errors.js';
import { LIMITS } from './limits.js';
import { carriesBody, type ClientMessage, type Frame, type Message, type ServerMessage } from './messages.js';
import { parseClientMessage, parseServerMessage, type Parsed } from './validate.js';

const HEADER_LENGTH_BYTES = 4;

/** Encode a message (and its mail body, when it carries one) as one frame. */
export function encodeFrame(message: Message, body?: Buffer): Buffer {
  if (carriesBody(message) !== (body !== undefined)) {
    throw new TwinboxError('INTERNAL', `message ${message.type} ${body ? 'must not' : 'must'} carry a body`);
  }
  const header = Buffer.from(JSON.stringify(message), 'utf8');
  const prefix = Buffer.alloc(HEADER_LENGTH_BYTES);
  prefix.writeUInt32BE(header.length, 0);
  return body ? Buffer.concat([prefix, header, body]) : Buffer.concat([prefix, header]);
}

type Result<M extends Message> = { ok: true; frame: Frame<M> } | { ok: false; error: TwinboxError };

function decodeWith<M extends Message>(data: Buffer, parse: (v: unknown) => Parsed<M>): Result<M> {
  if (data.length > LIMITS.maxFrameBytes) {
    return { ok: false, error: new TwinboxError('FRAME_TOO_LARGE', `frame of ${data.length} bytes exceeds ${LIMITS.maxFrameBytes}`) };
  }
  if (data.length < HEADER_LENGTH_BYTES) return { ok: false, error: new TwinboxError('BAD_FRAME', 'frame shorter than its length prefix') };
  const headerLength = data.readUInt32BE(0);
  if (headerLength > LIMITS.maxHeaderBytes || HEADER_LENGTH_BYTES + headerLength > data.length) {
    return { ok: false, error: new TwinboxError('BAD_FRAME', 'header length out of range') };
  }
  let json: unknown;
  try {
    json = JSON.parse(data.subarray(HEADER_LENGTH_BYTES, HEADER_LENGTH_BYTES + headerLength).toString('utf8'));
  } catch {
    return { ok: false, error: new TwinboxError('BAD_FRAME', 'header is not JSON') };
  }
  const parsed = parse(json);
  if (!parsed.ok) return parsed;
  const rest = data.subarray(HEADER_LENGTH_BYTES + headerLength);
  const wantsBody = carriesBody(parsed.message);
  if (!wantsBody && rest.length > 0) return { ok: false, error: new TwinboxError('BAD_FRAME', `${parsed.message.type} carries no body`) };
  if (wantsBody && rest.length > LIMITS.maxMessageBytes) {
    return { ok: false, error: new TwinboxError('FRAME_TOO_LARGE', 'mail message larger than the limit') };
  }
  return { ok: true, frame: wantsBody ? { message: parsed.message, body: Buffer.from(rest) } : { message: parsed.message } };
}

/** Decode a frame an agent sent (used by the server). */
export function decodeClientFrame(data: Buffer): Result<ClientMessage> {
  return decodeWith(data, parseClientMessage);
}

/** Decode a frame a server sent (used by the agent). */
export function decodeServerFrame(data: Buffer): Result<ServerMessage> {
  return decodeWith(data, parseServerMessage);
}
