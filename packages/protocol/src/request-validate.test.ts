import { describe, expect, it } from 'vitest';
import { decodeClientFrame, decodeServerFrame, encodeFrame } from './framing.js';
import { parseRequestResult } from './request-validate.js';

const ref = { mailbox: 'Projects/2026', uidValidity: '1700000000', uid: 42 };

describe('the request lane on the wire (docs/reach.md)', () => {
  it('a request travels with its op and checked parameters; hostile ones are refused at the edge', () => {
    const ok = decodeServerFrame(encodeFrame({ type: 'request', id: 1, timeoutMs: 5000, op: 'query', params: { filter: { text: '"{5}\r\nA1 DELETE INBOX' }, position: 0, limit: 20 } }));
    expect(ok.ok && ok.frame.message).toMatchObject({ op: 'query', params: { filter: { text: '"{5}\r\nA1 DELETE INBOX' } } });
    const tooLong = decodeServerFrame(encodeFrame({ type: 'request', id: 2, timeoutMs: 5000, op: 'query', params: { filter: { text: 'x'.repeat(257) }, position: 0, limit: 20 } }));
    expect(tooLong.ok).toBe(false);
    const badPart = decodeServerFrame(encodeFrame({ type: 'request', id: 3, timeoutMs: 5000, op: 'part', params: { ref, partId: '1 BODY[]' } }));
    expect(badPart.ok).toBe(false);
  });

  it('heldPart (lane version 2, preview first) names a phone message and an IMAP section, nothing else', () => {
    const ok = decodeServerFrame(encodeFrame({ type: 'request', id: 4, timeoutMs: 5000, op: 'heldPart', params: { phoneId: 7, partId: '2.1' } }));
    expect(ok.ok && ok.frame.message).toMatchObject({ op: 'heldPart', params: { phoneId: 7, partId: '2.1' } });
    for (const params of [{ phoneId: 0, partId: '2' }, { phoneId: 7, partId: '2 BODY[]' }, { phoneId: 7 }, { partId: '1' }]) {
      expect(decodeServerFrame(encodeFrame({ type: 'request', id: 5, timeoutMs: 5000, op: 'heldPart', params: params as never })).ok, JSON.stringify(params)).toBe(false);
    }
    expect(parseRequestResult('heldPart', Buffer.from(JSON.stringify({ size: 10, type: 'application/pdf', name: null })))).toEqual({ ok: true, result: { size: 10, type: 'application/pdf', name: null } });
  });

  it('a response carries its result as a body, an error without one; chunks carry bytes', () => {
    const result = Buffer.from(JSON.stringify({ ref: null }));
    const answered = decodeClientFrame(encodeFrame({ type: 'response', id: 9 }, result));
    expect(answered.ok && answered.frame.body?.toString()).toBe(result.toString());
    const refused = decodeClientFrame(encodeFrame({ type: 'response', id: 9, error: { code: 'NOT_FOUND', message: 'gone' } }));
    expect(refused.ok && refused.frame.message).toEqual({ type: 'response', id: 9, error: { code: 'NOT_FOUND', message: 'gone' } });
    const chunk = decodeClientFrame(encodeFrame({ type: 'chunk', id: 9, seq: 0, last: true }, Buffer.alloc(0)));
    expect(chunk.ok).toBe(true);
  });

  it('results are checked against the op asked', () => {
    expect(parseRequestResult('move', Buffer.from(JSON.stringify({ ref })))).toEqual({ ok: true, result: { ref } });
    expect(parseRequestResult('move', Buffer.from('{"ref":{"mailbox":"x"}}')).ok).toBe(false);
    expect(parseRequestResult('query', Buffer.from('not json')).ok).toBe(false);
  });
});
