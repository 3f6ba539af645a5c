import type { IncomingMessage } from 'node:http';
import { PhoneError } from './errors.js';

/** A request's body, whole, refused as PAYLOAD_TOO_LARGE past `limit` bytes (read no further). */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new PhoneError('PAYLOAD_TOO_LARGE', `request body larger than ${limit} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
