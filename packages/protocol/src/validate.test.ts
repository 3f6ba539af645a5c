import { describe, expect, it } from 'vitest';
import { parseClientMessage, parseServerMessage } from './validate.js';

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
  ])('rejects %j with %s', (input, code) => {
    const parsed = parseClientMessage(input);
    expect(parsed.ok).toBe(false);
    expect(!parsed.ok && parsed.error.code).toBe(code);
  });

  it('checks server messages too: a window of 0 is refused', () => {
    const parsed = parseServerMessage({ type: 'welcome', version: 1, mode: 'update', lastSyncNo: 1, options: { window: 0, unreadFirst: false, conflictPolicy: 'desktop' } });
    expect(!parsed.ok && parsed.error.code).toBe('BAD_FRAME');
  });
});
