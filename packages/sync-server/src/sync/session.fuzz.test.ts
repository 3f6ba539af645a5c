/**
 * Fuzzing the server's sync session (issue 5: hostile input): random
 * sequences of well-formed messages in any order (with right and wrong
 * tokens, versions, sequence numbers, other accounts' phone IDs), mixed with
 * mutated and random frames, fed to a real ServerSession on a real (in-memory)
 * store, exactly as the endpoint does. Checked after every frame:
 *
 *   - nothing escapes `handle` (no exception reaches the transport);
 *   - every frame the server sends decodes as a valid server message;
 *   - a frame that is rejected (error + close) changes nothing in the store;
 *   - the other account's data never changes, unless the session itself
 *     authenticated as that account with that account's own token.
 *
 * Budget: TWINBOX_FUZZ_RUNS sequences (default 150 in `npm test`). The
 * property is asynchronous and gives the event loop a turn before each
 * sequence, so vitest's worker RPC is never starved (issue 18, finding 13).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, decodeClientFrame, decodeServerFrame, encodeFrame, type ClientMessage, type TwinboxError } from '@twinbox/protocol';
import { PhoneMailbox } from '../phone/phone-mailbox.js';
import { ServerStore } from '../store/index.js';
import { AccountLocks } from './account-locks.js';
import { ServerSession } from './session.js';

const RUNS = Math.max(1, Math.floor(Number(process.env.TWINBOX_FUZZ_RUNS ?? 2000) / 13));
const breathe = () => new Promise<void>((resolve) => setImmediate(resolve));
const silent = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
const raw = (s: string) => Buffer.from(`Subject: ${s}\r\nMessage-ID: <${s}@fuzz>\r\n\r\nbody of ${s}\r\n`);

async function world() {
  const store = await ServerStore.open(':memory:');
  const a = await store.accounts.add({ id: 'a', desktopAddress: 'a@x', window: 3 });
  const b = await store.accounts.add({ id: 'b', desktopAddress: 'b@x', window: 3 });
  const phoneA = new PhoneMailbox(store, 'a');
  const phoneB = new PhoneMailbox(store, 'b');
  const ids = [await phoneA.deliver({ raw: raw('a1') }), await phoneA.deliver({ raw: raw('a2') }), await phoneB.deliver({ raw: raw('b1') })];
  await phoneA.trash(ids[1]!);
  return { store, tokens: { a: a.token, b: b.token }, ids };
}

async function snapshot(store: ServerStore, account?: string): Promise<string> {
  const tables = ['accounts', 'messages', 'server_actions', 'applied_agent_actions', 'sync_state', 'sync_log', 'devices'];
  return JSON.stringify(
    await Promise.all(
      tables.map(async (t) => {
        const rows = await store.engine.all<Record<string, unknown>>(`SELECT * FROM ${t} ORDER BY 1`);
        return account ? rows.filter((r) => r.account_id === account || r.id === account) : rows;
      }),
    ),
  );
}

const phoneId = fc.oneof(fc.constantFrom(1, 2, 3), fc.integer({ min: 1, max: 2 ** 40 }));
const seq = fc.oneof(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 2 ** 40 }));
const flag = fc.boolean();
const agentAction = fc.oneof(
  fc.record({ kind: fc.constant('insert' as const), date: fc.nat(), seen: flag, flagged: flag, tiebreak: fc.nat() }),
  fc.record({ kind: fc.constantFrom('markRead', 'markUnread', 'flag', 'unflag', 'trash', 'recover', 'destroy', 'unmap' as const), phoneId }),
);

function message(token: string, other: string): fc.Arbitrary<ClientMessage> {
  const credentials = fc.record({
    version: fc.constantFrom(PROTOCOL_VERSION, PROTOCOL_VERSION, PROTOCOL_VERSION + 1),
    accountId: fc.constantFrom('a', 'a', 'b', 'nobody'),
    token: fc.constantFrom(token, token, other, 'tbx_wrong'),
    agentId: fc.constantFrom('agent-1', 'agent-2'),
  });
  return fc.oneof(
    credentials.chain((c) =>
      fc.record({ syncEpoch: fc.constantFrom(null, 'e1'), lastSyncNo: fc.nat({ max: 3 }), ackedThrough: fc.nat({ max: 5 }) }).map((h) => ({ type: 'hello' as const, ...c, ...h })),
    ),
    credentials.map((c) => ({ type: 'watch' as const, ...c })),
    fc.constantFrom('e1', 'e2').map((syncEpoch) => ({ type: 'beginInitial' as const, syncEpoch })),
    fc.array(phoneId, { maxLength: 40 }).map((phoneIds) => ({ type: 'fetchPhone' as const, phoneIds })),
    fc.record({ seq, action: agentAction }).map((m) => ({ type: 'action' as const, ...m })),
    fc.constant({ type: 'swap' as const }),
    fc.record({ seq, result: fc.constantFrom('ok', 'gone', 'failed' as const) }).map((m) => ({ type: 'serverAck' as const, ...m })),
    fc.constant({ type: 'freeSlots' as const }),
    fc.array(fc.record({ phoneId, tiebreak: fc.integer({ min: 1, max: 1000 }), date: fc.integer({ min: 0, max: 2_000_000_000_000 }) }), { maxLength: 5 }).map((entries) => ({ type: 'order' as const, entries })),
    fc.integer({ min: 1, max: 3 }).map((syncNo) => ({
      type: 'complete' as const,
      syncNo,
      stats: { mode: 'update' as const, agentActions: 0, serverActions: 0, unmapped: 0, pulled: 0, insertedOnDesktop: 0 },
    })),
  );
}

function frameOf(m: ClientMessage): Buffer {
  return m.type === 'action' && m.action.kind === 'insert' ? encodeFrame(m, raw(`ins${m.seq}`)) : encodeFrame(m);
}

describe('server session under fuzzing', () => {
  it('random message sequences and mutated frames: nothing escapes, rejected input changes nothing, other accounts untouched', async () => {
    const { tokens } = await world();
    const input = fc.array(
      fc.oneof(
        { weight: 6, arbitrary: message(tokens.a, tokens.b).map(frameOf) },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
        {
          weight: 1,
          arbitrary: fc.tuple(message(tokens.a, tokens.b).map(frameOf), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([f, at, v]) => {
            const copy = Buffer.from(f);
            copy[at % copy.length] = v;
            return copy;
          }),
        },
      ),
      { minLength: 1, maxLength: 40 },
    );
    await fc.assert(
      fc.asyncProperty(input, async (frames) => {
        await breathe();
        // A fresh world per sequence, with the same tokens the arbitraries were built with.
        const w = await world();
        const remap = (f: Buffer) => Buffer.from(f.toString('latin1').replaceAll(tokens.a, w.tokens.a).replaceAll(tokens.b, w.tokens.b), 'latin1');
        const locks = new AccountLocks();
        const outcome: { failed?: TwinboxError } = {};
        // Read through a function: the session sets it from a callback, which type narrowing cannot see.
        const rejection = (): TwinboxError | undefined => outcome.failed;
        const sent: Buffer[] = [];
        const session = new ServerSession(w.store, locks, { send: (m, body) => sent.push(encodeFrame(m, body)), fail: (e) => (outcome.failed = e), congested: () => false, whenDrained: (resume) => void resume() }, silent);
        const otherBefore = await snapshot(w.store, 'b');
        let becameOther = false;
        for (const original of frames) {
          const data = remap(original);
          const before = await snapshot(w.store);
          outcome.failed = undefined;
          const decoded = decodeClientFrame(data);
          const handled = async () => (decoded.ok ? session.handle(decoded.frame) : session.fail(decoded.error));
          await expect(handled()).resolves.not.toThrow();
          if (!becameOther && session.accountId === 'b') {
            // Only b's own token opens a session for b.
            expect(data.includes(Buffer.from(w.tokens.b))).toBe(true);
            becameOther = true;
          }
          const rejected = rejection();
          if (rejected) {
            expect(await snapshot(w.store), `rejected ${rejected.code}: store changed`).toBe(before);
            break;
          }
        }
        for (const frame of sent) expect(decodeServerFrame(frame).ok).toBe(true);
        if (!becameOther) expect(await snapshot(w.store, 'b')).toBe(otherBefore);
        session.closed();
        await w.store.close();
      }),
      { numRuns: RUNS },
    );
  });
});
