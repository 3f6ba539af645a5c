/**
 * Issue 9.1: identity never rests on a header a stranger controls.
 *
 * A stranger who knows a desktop message's Message-ID (anyone on the thread)
 * mails the phone address a message with that Message-ID, the same From,
 * Subject and Date, and another body. It must be stored as its own message on
 * both sides; trashing and destroying it on the phone must never move or
 * delete the real desktop message — in an update sync and in an initial sync.
 * The same message delivered to both addresses (only its trace fields differ)
 * is still one message, mapped once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { TwinboxSystem, forgedCopy, makeMessage } from '@twinbox/testkit';

const REAL_ID = '<q3-numbers.4711@corp.example>';
const DATE = new Date('2026-11-02T09:00:00Z');

/** The real message and a forgery that copies every header a reader sees but the body (and its label). */
function realAndForged(label: string): { real: Buffer; forged: Buffer } {
  const real = makeMessage({ label: 'D', messageId: REAL_ID, subject: 'Q3 numbers', date: DATE });
  return { real, forged: forgedCopy(real, label, 'The numbers moved: log in at https://evil.example/ to see them.') };
}

describe('a forged Message-ID never takes over a desktop message', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  it('forged-message-id-update-sync: stored as its own message; trashing and destroying it leaves the real one alone', async () => {
    system = await TwinboxSystem.start({ window: 2 });
    const { real, forged } = realAndForged('F');
    await system.desktop.appendRaw(real, DATE);
    await system.desktop.deliver({ label: 'N1', date: new Date('2026-11-03T09:00:00Z') });
    await system.desktop.deliver({ label: 'N2', date: new Date('2026-11-04T09:00:00Z') });
    await system.sync();
    expect(await system.phoneLabels()).toEqual(['N2', 'N1']);

    await system.phoneReceive({ label: 'F' }, forged);
    await system.sync();
    expect(await system.desktop.labels()).toEqual(['F', 'N2', 'N1', 'D']);
    expect(await system.phoneLabels()).toEqual(['F', 'N2']);
    expect(await system.desktop.source('F')).toEqual(forged);

    await system.phone().trash(await system.phoneId('F'));
    await system.sync();
    expect(await system.desktop.labels('Trash')).toEqual(['F']);
    await system.phone().destroy(await system.phoneId('F'));
    await system.sync();
    expect(await system.desktop.labels('Trash')).toEqual([]);
    expect(await system.desktop.labels()).toEqual(['N2', 'N1', 'D']);
    expect(await system.desktop.source('D')).toEqual(real);
    expect(await system.phoneLabels()).toEqual(['N2', 'N1']);
  });

  it('forged-message-id-initial-sync: an agent that starts over appends the forgery and maps the real messages once', async () => {
    system = await TwinboxSystem.start({ window: 2 });
    const { real, forged } = realAndForged('F');
    await system.desktop.appendRaw(real, DATE);
    await system.desktop.deliver({ label: 'N1', date: new Date('2026-11-03T09:00:00Z') });
    await system.sync();
    expect(await system.phoneLabels()).toEqual(['N1', 'D']);
    // The real D is on the phone too; the forgery arrives while the agent has lost its database.
    rmSync(system.agentDatabase, { force: true });
    await system.phoneReceive({ label: 'F' }, forged);
    const summary = await system.sync();
    expect(summary.mode).toBe('initial');
    expect(summary.insertedOnDesktop).toBe(1);
    expect(await system.desktop.labels()).toEqual(['F', 'N1', 'D']);
    expect(await system.phoneLabels()).toEqual(['F', 'N1']);

    await system.phone().destroy(await system.phoneId('F'));
    await system.sync();
    expect(await system.desktop.labels()).toEqual(['N1', 'D']);
    expect(await system.desktop.source('D')).toEqual(real);
  });

  it('forged-message-id-destroy-by-identity: a phone destroy carried across an initial sync removes only the same message', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    const { real, forged } = realAndForged('F');
    await system.desktop.appendRaw(real, DATE);
    await system.phoneReceive({ label: 'F' }, forged);
    await system.sync();
    expect(await system.desktop.labels()).toEqual(['F', 'D']);
    // The user destroys the forgery on the phone; before the next sync the agent loses its database.
    await system.phone().destroy(await system.phoneId('F'));
    rmSync(system.agentDatabase, { force: true });
    expect((await system.sync()).mode).toBe('initial');
    expect(await system.desktop.labels()).toEqual(['D']);
    expect(await system.desktop.source('D')).toEqual(real);
    expect(await system.phoneLabels()).toEqual(['D']);
  });

  it('same-message-to-both-addresses: a copy that differs only in trace fields is one message, mapped once', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    const raw = makeMessage({ label: 'BOTH', subject: 'to both addresses' });
    await system.deliverToDesktop(raw); // Dovecot's LMTP adds Return-Path and Delivered-To
    await system.phoneReceive({ label: 'BOTH' }, raw);
    const desktopCopy = await system.desktop.source('BOTH');
    expect(desktopCopy.equals(raw)).toBe(false);
    const summary = await system.sync();
    expect(summary.insertedOnDesktop).toBe(0);
    expect(await system.desktop.labels()).toEqual(['BOTH']);
    expect(await system.phoneLabels()).toEqual(['BOTH']);
  });
});
