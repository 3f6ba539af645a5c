/**
 * A simulated desktop agent for the load generator (issue 22): it speaks the
 * sync protocol itself, over the agent's own transport (SyncConnection: TLS,
 * the key pin, frames decoded at the edge), with an in-memory desktop
 * (sim-desktop.ts) instead of IMAP and SQLite — so that hundreds of accounts
 * can sync at once against a server from one process, and the server is what
 * is measured. The session is the agent's (sync.ts, phases/*):
 *
 *   hello ─► welcome
 *     ├─ initial: beginInitial ─► phoneList pages ─► fetchPhone (what the desktop lacks) ─► swap … actionsEnd
 *     └─ update:  action* ─► ack* (desktop changes) ─► swap ─► serverAction* ◄─► serverAck* ─► actionsEnd
 *   ─► unmap* (normalization) ─► freeSlots ─► insert* (pull) ─► order ─► complete ─► completed
 *
 * Its actions are kept until acknowledged and sent again with the same
 * sequence number after a failed session (the server answers a repeat from
 * its record), as the agent's durable action list is.
 */
import { randomUUID } from 'node:crypto';
import {
  LIMITS,
  PROTOCOL_VERSION,
  TwinboxError,
  fingerprintOfRaw,
  type AgentAction,
  type OrderEntry,
  type PhoneListEntry,
  type SyncStats,
} from '@twinbox/protocol';
import { SyncConnection } from '@twinbox/sync-client';
import type { SessionRecord } from './load-stats.js';
import { SimDesktop } from './sim-desktop.js';

export interface SimAgentOptions {
  /** wss://HOST:PORT/sync: a node, or the load balancer in front of nodes. */
  url: string;
  /** The server's key pins (`twinbox-server certificate --json`: pin and backupPin). */
  pins: string[];
  account: string;
  token: string;
  /** Keep the connection between sessions (the background agent) instead of one per session (`twinbox-agent sync`). */
  keepLink?: boolean;
  /** Makes the body of a new desktop message. */
  makeMessage: (label: string, date: Date) => Buffer;
}

interface Pending {
  seq: number;
  action: AgentAction;
  /** The desktop message an insert carries. */
  uid?: number;
}

interface Counters {
  agentActions: number;
  serverActions: number;
  unmapped: number;
  pulled: number;
  insertedOnDesktop: number;
}

export class SimAgent {
  readonly desktop = new SimDesktop();
  private readonly agentId = randomUUID();
  private syncEpoch: string | null = null;
  private lastSyncNo = 0;
  private nextSeq = 1;
  private pending: Pending[] = [];
  private link: SyncConnection | undefined;
  private arrivals = 0;
  /** The window the server last told (welcome.options). */
  window = 0;

  constructor(private readonly options: SimAgentOptions) {}

  get account(): string {
    return this.options.account;
  }

  /** New mail in the desktop INBOX (inserted on the phone by the next sync's pull). */
  deliverToDesktop(count: number): void {
    for (let i = 0; i < count; i++) {
      const label = `${this.options.account}-d${++this.arrivals}`;
      // Distinct arrival times, newest last: each new message tops the desktop's order.
      const date = Date.now() + this.arrivals;
      this.desktop.arrive(this.options.makeMessage(label, new Date(date)), date);
    }
  }

  /** The user flips the read state of `count` window messages on the desktop (actions for the next sync). */
  changeFlagsOnDesktop(count: number, pick: () => number): void {
    const mapped = this.desktop.mappedInbox();
    for (let i = 0; i < count && mapped.length > 0; i++) {
      const phoneId = mapped[Math.floor(pick() * mapped.length)]!;
      const action = this.desktop.toggleSeen(phoneId);
      if (action) this.queue(action);
    }
  }

  /** One sync session; never throws (a failure is in the record). */
  async sync(): Promise<SessionRecord> {
    const started = performance.now();
    const record: SessionRecord = { account: this.options.account, kind: this.syncEpoch ? 'update' : 'initial', ok: false, ms: 0, connectMs: 0, bytesSent: 0, bytesReceived: 0, agentActions: 0, serverActions: 0 };
    let conn: SyncConnection | undefined;
    let before = { bytesSent: 0, bytesReceived: 0 };
    try {
      conn = this.link && !this.link.failed ? this.link : await SyncConnection.open({ url: this.options.url, pins: this.options.pins, proxy: 'direct' });
      record.connectMs = conn === this.link ? 0 : performance.now() - started;
      before = { ...conn.stats };
      const counters = await this.session(conn, record);
      record.agentActions = counters.agentActions;
      record.serverActions = counters.serverActions;
      record.ok = true;
    } catch (err) {
      record.code = err instanceof TwinboxError ? err.code : 'ERROR';
      record.error = (err as Error).message.slice(0, 300);
    } finally {
      record.ms = performance.now() - started;
      if (conn) {
        record.bytesSent = conn.stats.bytesSent - before.bytesSent;
        record.bytesReceived = conn.stats.bytesReceived - before.bytesReceived;
        if (this.options.keepLink && record.ok) this.link = conn;
        else {
          conn.close();
          this.link = undefined;
        }
      }
    }
    return record;
  }

  close(): void {
    this.link?.close();
    this.link = undefined;
  }

  private async session(conn: SyncConnection, record: SessionRecord): Promise<Counters> {
    conn.send({
      type: 'hello',
      version: PROTOCOL_VERSION,
      accountId: this.options.account,
      token: this.options.token,
      agentId: this.agentId,
      syncEpoch: this.syncEpoch,
      lastSyncNo: this.lastSyncNo,
      ackedThrough: this.ackedThrough(),
    });
    const welcome = (await conn.expect('welcome')).message;
    record.kind = welcome.mode;
    this.window = welcome.options.window;
    const counters: Counters = { agentActions: 0, serverActions: 0, unmapped: 0, pulled: 0, insertedOnDesktop: 0 };
    if (welcome.mode === 'initial') await this.initial(conn, counters);
    else {
      await this.push(conn, counters);
      await this.swap(conn, counters);
    }
    // Normalization, then pull (docs/spec.md §4.5, §4.6).
    for (const phoneId of this.desktop.evictions(this.window)) {
      if (!this.pending.some((p) => p.action.kind === 'unmap' && p.action.phoneId === phoneId)) this.queue({ kind: 'unmap', phoneId });
      counters.unmapped++;
    }
    await this.push(conn, counters);
    conn.send({ type: 'freeSlots' });
    const { free } = (await conn.expect('freeSlotsResult')).message;
    const inserting = new Set(this.pending.flatMap((p) => (p.uid !== undefined ? [p.uid] : [])));
    for (const m of this.desktop.pullCandidates(this.window, free, inserting)) {
      this.queue({ kind: 'insert', date: m.date, seen: m.seen, flagged: m.flagged, tiebreak: m.uid }, m.uid);
      counters.pulled++;
    }
    await this.push(conn, counters);
    const order: OrderEntry[] = this.desktop.orderEntries(this.window);
    for (let i = 0; i < order.length; i += LIMITS.orderPageEntries) conn.send({ type: 'order', entries: order.slice(i, i + LIMITS.orderPageEntries) });
    const syncNo = welcome.mode === 'initial' ? 1 : welcome.lastSyncNo + 1;
    const stats: SyncStats = { mode: welcome.mode, ...counters, desktopInbox: this.desktop.inbox().length };
    conn.send({ type: 'complete', syncNo, stats });
    await conn.expect('completed');
    this.lastSyncNo = syncNo;
    this.desktop.orderTaken(order);
    return counters;
  }

  /** Initial sync: a new epoch, the phone's list paired with the desktop by fingerprint, what the desktop lacks fetched. */
  private async initial(conn: SyncConnection, counters: Counters): Promise<void> {
    const epoch = randomUUID();
    this.desktop.forgetPairing();
    // What the agent had queued about phone messages means nothing in a new pairing; desktop inserts are pulled again.
    this.pending = [];
    conn.send({ type: 'beginInitial', syncEpoch: epoch });
    const list: PhoneListEntry[] = [];
    for (;;) {
      const page = (await conn.expect('phoneList')).message;
      list.push(...page.messages);
      if (page.next === null) break;
      conn.send({ type: 'listPhone', after: page.next });
    }
    this.syncEpoch = epoch;
    const unpaired = new Map<string, number[]>();
    for (const m of [...this.desktop.inbox()]) {
      const fp = fingerprintOfRaw(m.raw);
      unpaired.set(fp, [...(unpaired.get(fp) ?? []), m.uid]);
    }
    const missing: PhoneListEntry[] = [];
    for (const entry of list) {
      const uid = unpaired.get(entry.fingerprint)?.shift();
      if (uid !== undefined && entry.folder === 'inbox') this.desktop.map(entry.phoneId, uid);
      else missing.push(entry);
    }
    for (let i = 0; i < missing.length; i += LIMITS.maxInFlight) {
      const batch = missing.slice(i, i + LIMITS.maxInFlight);
      conn.send({ type: 'fetchPhone', phoneIds: batch.map((p) => p.phoneId) });
      for (const entry of batch) {
        const frame = await conn.expect('phoneMessage', 'phoneGone');
        if (frame.message.type === 'phoneGone') continue;
        const { phoneId, date, seen, flagged } = frame.message;
        const answer = this.desktop.apply({ kind: 'insert', phoneId, date, seen, flagged }, frame.body);
        if (entry.folder === 'trash' && answer.desktopUid !== undefined) this.desktop.apply({ kind: 'trash', phoneId }, undefined);
        counters.insertedOnDesktop++;
      }
    }
    await this.push(conn, counters);
    await this.swap(conn, counters);
  }

  /** Send every pending action (up to LIMITS.maxInFlight at once) and apply the acknowledgements. */
  private async push(conn: SyncConnection, counters: Counters): Promise<void> {
    const queue = [...this.pending];
    const inFlight = new Map<number, Pending>();
    while (queue.length > 0 || inFlight.size > 0) {
      while (queue.length > 0 && inFlight.size < LIMITS.maxInFlight) {
        const next = queue.shift()!;
        const body = next.action.kind === 'insert' && next.uid !== undefined ? this.desktop.get(next.uid)?.raw : undefined;
        if (next.action.kind === 'insert' && !body) {
          this.forget(next.seq); // gone from the desktop before it was sent
          continue;
        }
        inFlight.set(next.seq, next);
        conn.send({ type: 'action', seq: next.seq, action: next.action }, body);
        counters.agentActions++;
      }
      if (inFlight.size === 0) continue;
      const ack = (await conn.expect('ack')).message;
      const sent = inFlight.get(ack.seq);
      if (!sent) throw new TwinboxError('OUT_OF_ORDER', `ack for action ${ack.seq}, which was not sent`);
      inFlight.delete(ack.seq);
      if (ack.result === 'failed') continue; // kept: tried again at the next sync
      this.forget(ack.seq);
      if (sent.action.kind === 'insert' && ack.result === 'ok' && ack.phoneId && sent.uid !== undefined) this.desktop.map(ack.phoneId, sent.uid);
      else if (sent.action.kind === 'unmap' || ack.result === 'gone') {
        if ('phoneId' in sent.action) this.desktop.unmapPhone(sent.action.phoneId);
      }
    }
  }

  /** The swap: the server's actions (phone changes), each applied and acknowledged. */
  private async swap(conn: SyncConnection, counters: Counters): Promise<void> {
    conn.send({ type: 'swap' });
    for (;;) {
      const frame = await conn.expect('serverAction', 'actionsEnd');
      if (frame.message.type === 'actionsEnd') return;
      const { seq, action } = frame.message;
      const answer = this.desktop.apply(action, frame.body);
      conn.send({ type: 'serverAck', seq, result: answer.result, ...(answer.desktopUid !== undefined ? { desktopUid: answer.desktopUid } : {}) });
      counters.serverActions++;
    }
  }

  private queue(action: AgentAction, uid?: number): void {
    this.pending.push({ seq: this.nextSeq++, action, ...(uid !== undefined ? { uid } : {}) });
  }

  private forget(seq: number): void {
    this.pending = this.pending.filter((p) => p.seq !== seq);
  }

  /** Every action up to this sequence number has been acknowledged and forgotten. */
  private ackedThrough(): number {
    return this.pending.length > 0 ? Math.min(...this.pending.map((p) => p.seq)) - 1 : this.nextSeq - 1;
  }
}
