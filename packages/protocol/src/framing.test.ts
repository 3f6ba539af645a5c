import { describe, expect, it } from 'vitest';
import { LIMITS } from './limits.js';
import { decodeClientFrame, decodeServerFrame, encodeFrame } from './framing.js';

describe('framing', () => {
  it('round-trips a message with a raw mail body, bytes unchanged (no base64)', () => {
    const body = Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a, 0x80]);
    const frame = encodeFrame({ type: 'action', seq: 7, action: { kind: 'insert', date: 1000, seen: true, flagged: false, tiebreak: 3 } }, body);
    expect(frame.subarray(frame.length - body.length)).toEqual(body);
    const decoded = decodeClientFrame(frame);
    expect(decoded.ok && decoded.frame.body).toEqual(body);
    expect(decoded.ok && decoded.frame.message).toEqual({ type: 'action', seq: 7, action: { kind: 'insert', date: 1000, seen: true, flagged: false, tiebreak: 3 } });
  });

  it('refuses to encode a body on a message that carries none, and a missing body', () => {
    expect(() => encodeFrame({ type: 'swap' }, Buffer.from('x'))).toThrow(/must not carry a body/);
    expect(() => encodeFrame({ type: 'phoneMessage', phoneId: 1, date: 0, seen: false, flagged: false })).toThrow(/must carry a body/);
  });

  it.each([
    ['too short', Buffer.from([0, 0])],
    ['header length past the end', Buffer.from([0, 0, 0, 50, 123])],
    ['header length above the limit', Buffer.from([0xff, 0xff, 0xff, 0xff])],
    ['not JSON', Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from('{')])],
  ])('rejects %s as BAD_FRAME', (_name, data) => {
    const decoded = decodeServerFrame(data);
    expect(decoded.ok).toBe(false);
    expect(!decoded.ok && decoded.error.code).toBe('BAD_FRAME');
  });

  it('rejects an oversized frame as FRAME_TOO_LARGE without parsing it', () => {
    const decoded = decodeClientFrame(Buffer.alloc(LIMITS.maxFrameBytes + 1));
    expect(!decoded.ok && decoded.error.code).toBe('FRAME_TOO_LARGE');
  });
});
