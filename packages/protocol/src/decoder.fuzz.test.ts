/**
 * Fuzzing the frame decoder (issue 5: hostile input): random bytes and
 * mutations of valid frames never throw, and every rejection is a
 * TwinboxError with a known code. Budget: TWINBOX_FUZZ_RUNS (default 2,000
 * per property in `npm test`; `npm run fuzz` runs far more).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TwinboxError, isErrorCode } from './errors.js';
import { decodeClientFrame, decodeServerFrame, encodeFrame } from './framing.js';
import type { ClientMessage } from './messages.js';

const RUNS = Number(process.env.TWINBOX_FUZZ_RUNS ?? 2000);

const validFrames: Buffer[] = [
  encodeFrame({ type: 'hello', version: 1, accountId: 'a', token: 't', agentId: 'x', syncEpoch: null, lastSyncNo: 0, ackedThrough: 0 }),
  encodeFrame({ type: 'action', seq: 3, action: { kind: 'insert', date: 1, seen: false, flagged: true, tiebreak: 2 } }, Buffer.from('Subject: x\r\n\r\nbody')),
  encodeFrame({ type: 'action', seq: 4, action: { kind: 'trash', phoneId: 9 } }),
  encodeFrame({ type: 'fetchPhone', phoneIds: [1, 2, 3] }),
  encodeFrame({ type: 'serverAck', seq: 5, result: 'failed', error: 'nope' }),
  encodeFrame({ type: 'order', entries: [{ phoneId: 1, tiebreak: 2 }] } as ClientMessage),
  encodeFrame({ type: 'complete', syncNo: 1, stats: { mode: 'update', agentActions: 0, serverActions: 0, unmapped: 0, pulled: 0, insertedOnDesktop: 0 } }),
];

function checkDecodes(data: Buffer): void {
  for (const decode of [decodeClientFrame, decodeServerFrame]) {
    const result = decode(data);
    if (!result.ok) {
      expect(result.error).toBeInstanceOf(TwinboxError);
      expect(isErrorCode(result.error.code)).toBe(true);
    }
  }
}

describe('frame decoder under fuzzing', () => {
  it('random bytes: never throws, rejections carry a known code', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => checkDecodes(Buffer.from(bytes))), { numRuns: RUNS });
  });

  it('valid frames with bytes flipped, cut or appended', () => {
    const mutation = fc.record({
      frame: fc.integer({ min: 0, max: validFrames.length - 1 }),
      flips: fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), { maxLength: 6 }),
      cut: fc.option(fc.nat()),
      tail: fc.uint8Array({ maxLength: 16 }),
    });
    fc.assert(
      fc.property(mutation, ({ frame, flips, cut, tail }) => {
        const data = Buffer.from(validFrames[frame]!);
        for (const f of flips) data[f.at % data.length] = f.value;
        const cutData = cut === null ? data : data.subarray(0, cut % (data.length + 1));
        checkDecodes(Buffer.concat([cutData, Buffer.from(tail)]));
      }),
      { numRuns: RUNS },
    );
  });

  it('any JSON value as a header: never throws', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        const header = Buffer.from(JSON.stringify(value));
        const prefix = Buffer.alloc(4);
        prefix.writeUInt32BE(header.length, 0);
        checkDecodes(Buffer.concat([prefix, header]));
      }),
      { numRuns: RUNS },
    );
  });
});
