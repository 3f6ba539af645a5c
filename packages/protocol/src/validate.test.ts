import { describe, expect, it } from 'vitest';
import { LIMITS } from './limits.js';
import { parseClientMessage, parseServerMessage } from './validate.js';

const INSERT = { kind: 'insert', date: 0, seen: false, flagged: false, tiebreak: 1 };

describe('validation of unknown input', () => {
  it('accepts a well-formed hello and drops unknown fields', () => {
    const parsed = parseClientMessage({ type: 'hello', version: 1, accountId: 'a', token: 't', agentId: 'x', syncEpoch: null, lastSyncNo: 0, ackedThrough: 0, extra: 1 });
    expect(parsed).toEqual({ ok: true, message: { type: 'hello', version: 1, accountId: 'a', token: 't', agentId: 'x', syncEpoch: null, lastSyncNo: 0, ackedThrough: 0 } });
  });

  it.each([
    [null, 'BAD_FRAME'],
    [[], 'BAD_FRAME'],
    [{ type: 42 }, 'BAD_FRAME'],
    [{ type: 'nope' }, 'UNKNOWN_TYPE'],
    [{ type: 'constructor' }, 'UNKNOWN_TYPE'],
    [{ type: 'action', seq: 0, action: { kind: 'destroy', phoneId: 1 } }, 'BAD_FRAME'],
    [{ type: 'action', seq: 1, action: { kind: 'explode', phoneId: 1 } }, 'BAD_FRAME'],
    [{ type: 'action', seq: 1, action: { kind: 'destroy', phoneId: 1.5 } }, 'BAD_FRAME'],
    [{ type: 'fetchPhone', phoneIds: 'all' }, 'BAD_FRAME'],
    [{ type: 'serverAck', seq: 1, result: 'maybe' }, 'BAD_FRAME'],
    [{ type: 'hello', version: 1, accountId: '', token: 't', agentId: 'x', syncEpoch: null, lastSyncNo: 0, ackedThrough: 0 }, 'BAD_FRAME'],
    // The swap riding on the hello is asked for with `true`, or not at all.
    [{ type: 'hello', version: 1, accountId: 'a', token: 't', agentId: 'x', syncEpoch: null, lastSyncNo: 0, ackedThrough: 0, swap: false }, 'BAD_FRAME'],
    // A stand-in is only for a message too large to send whole, under a real fingerprint.
    [{ type: 'action', seq: 1, action: { ...INSERT, standInFor: { fingerprint: 'mid:a@b', size: 10 } } }, 'BAD_FRAME'],
    [{ type: 'action', seq: 1, action: { ...INSERT, standInFor: { fingerprint: 'anything', size: LIMITS.maxMessageBytes + 1 } } }, 'BAD_FRAME'],
    [{ type: 'action', seq: 1, action: { ...INSERT, standInFor: 'yes' } }, 'BAD_FRAME'],
  ])('rejects %j with %s', (input, code) => {
    const parsed = parseClientMessage(input);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.error.code).toBe(code);
  });

  it('accepts an insert standing in for a message too large for the phone', () => {
    const action = { ...INSERT, standInFor: { fingerprint: 'mid:a@b', size: LIMITS.maxMessageBytes + 1 } };
    expect(parseClientMessage({ type: 'action', seq: 1, action })).toEqual({ ok: true, message: { type: 'action', seq: 1, action } });
  });

  it('accepts an insert that is a preview, carrying the whole message identity and the parts left out (issue 21)', () => {
    const previewOf = { fingerprint: 'mid:a@b', size: 3_000_000, digest: `c2:${'a'.repeat(64)}`, omitted: [{ partId: '2.1', size: 2_000_000 }] };
    const action = { ...INSERT, previewOf };
    expect(parseClientMessage({ type: 'action', seq: 1, action })).toEqual({ ok: true, message: { type: 'action', seq: 1, action } });
    for (const bad of [
      { ...previewOf, digest: 'standin:5' },
      { ...previewOf, fingerprint: 'x' },
      { ...previewOf, omitted: [] },
      { ...previewOf, omitted: [{ partId: '1', size: 1 }, { partId: '1', size: 1 }] },
      { ...previewOf, omitted: [{ partId: '1 HEADER', size: 1 }] },
      { ...previewOf, size: LIMITS.maxMessageBytes + 1 },
      { ...previewOf, digest: `standin:${LIMITS.maxMessageBytes}`, size: LIMITS.maxMessageBytes },
      { ...previewOf, digest: 'standin:5', size: LIMITS.maxMessageBytes + 1 },
    ]) {
      expect(parseClientMessage({ type: 'action', seq: 1, action: { ...INSERT, previewOf: bad } }).ok, JSON.stringify(bad)).toBe(false);
    }
    // Larger than a frame: known by the stand-in digest, its size.
    const huge = { ...previewOf, size: LIMITS.maxMessageBytes + 1, digest: `standin:${LIMITS.maxMessageBytes + 1}` };
    expect(parseClientMessage({ type: 'action', seq: 1, action: { ...INSERT, previewOf: huge } }).ok).toBe(true);
    expect(parseClientMessage({ type: 'action', seq: 1, action: { ...action, standInFor: { fingerprint: 'mid:a@b', size: LIMITS.maxMessageBytes + 1 } } }).ok).toBe(false);
  });

  it('a welcome may name the preview threshold; a server from before names none', () => {
    const welcome = { type: 'welcome', version: 4, mode: 'update', lastSyncNo: 1, options: { window: 5, unreadFirst: false, conflictPolicy: 'desktop' } };
    expect(parseServerMessage({ ...welcome, options: { ...welcome.options, previewAboveBytes: 262144 } })).toMatchObject({ ok: true, message: { options: { previewAboveBytes: 262144 } } });
    const old = parseServerMessage(welcome);
    expect(old.ok && 'options' in old.message && old.message.options.previewAboveBytes).toBeUndefined();
  });

  it('checks server messages too: a window of 0 is refused', () => {
    const parsed = parseServerMessage({ type: 'welcome', version: 1, mode: 'update', lastSyncNo: 1, options: { window: 0, unreadFirst: false, conflictPolicy: 'desktop' } });
    expect(!parsed.ok && parsed.error.code).toBe('BAD_FRAME');
  });
});
