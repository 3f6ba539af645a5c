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

  it('checks server messages too: a window of 0 is refused', () => {
    const parsed = parseServerMessage({ type: 'welcome', version: 1, mode: 'update', lastSyncNo: 1, options: { window: 0, unreadFirst: false, conflictPolicy: 'desktop' } });
    expect(!parsed.ok && parsed.error.code).toBe('BAD_FRAME');
  });
});
