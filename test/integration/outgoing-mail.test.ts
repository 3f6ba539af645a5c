/**
 * Mail sent from the phone (docs/spec.md §7, patent FIG. 12), with real SMTP
 * listeners: the desktop's own SMTP server (via sync) and the server's relay
 * (direct). Exactly one copy leaves, it is filed in both Sent folders, a
 * refusal is shown in the Outbox with the SMTP error and can be retried, and
 * killing the agent between sending and acknowledging never sends it twice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TwinboxSystem, labelOfRaw, makeMessage } from '@twinbox/testkit';

const envelope = { from: 'user1@phone.invalid', to: ['friend@example.test'] };

function outgoing(label: string, viaSync: boolean) {
  return { raw: makeMessage({ label, to: 'Friend <friend@example.test>', from: 'user1@phone.invalid' }), envelope, viaSync };
}

const labels = (sink: TwinboxSystem['smtp']) => sink.received.map((m) => labelOfRaw(m.raw));

describe('outgoing mail from the phone', () => {
  let system: TwinboxSystem | undefined;
  afterEach(async () => {
    await system?.stop();
    system = undefined;
  });

  it('via sync: the desktop SMTP server gets exactly one copy; it is filed in both Sent folders', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.sync();
    const id = await system.phone().send(outgoing('O1', true));
    expect(await system.phone().get(id)).toMatchObject({ folder: 'outbox', sendStatus: 'queued' });
    expect(system.smtp.received).toHaveLength(0);

    const summary = await system.sync();
    expect(summary.serverActions).toBe(1);
    expect(labels(system.smtp)).toEqual(['O1']);
    expect(system.smtp.received[0]!.to).toEqual(['friend@example.test']);
    expect(system.relay.received).toHaveLength(0);
    expect(await system.desktop.labels('Sent')).toEqual(['O1']);
    expect(await system.phoneLabels('sent')).toEqual(['O1']);
    expect(await system.phoneLabels('outbox')).toEqual([]);
    // The copy that left is the phone's message, byte for byte.
    expect(system.smtp.received[0]!.raw.toString()).toContain('X-Scenario-Label: O1');

    await system.sync();
    expect(labels(system.smtp)).toEqual(['O1']);
    expect(await system.desktop.labels('Sent')).toEqual(['O1']);
  });

  it('direct: the relay sends it at once; the next sync files a copy in the desktop Sent folder', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.sync();
    await system.phone().send(outgoing('O2', false));
    expect(labels(system.relay)).toEqual(['O2']);
    expect(await system.phoneLabels('sent')).toEqual(['O2']);
    await system.sync();
    expect(await system.desktop.labels('Sent')).toEqual(['O2']);
    expect(system.smtp.received).toHaveLength(0);
    expect(await system.desktop.labels('INBOX')).toEqual([]);
  });

  it('a refusal is shown in the Outbox with the SMTP error, and a retry sends it once', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.sync();
    system.smtp.refuse.add('friend@example.test');
    const id = await system.phone().send(outgoing('O3', true));
    await system.sync();
    const failed = (await system.phone().get(id))!;
    expect(failed).toMatchObject({ folder: 'outbox', sendStatus: 'failed' });
    expect(failed.sendError).toMatch(/550|unavailable/);
    expect(await system.desktop.labels('Sent')).toEqual([]);

    system.smtp.refuse.clear();
    await system.phone().retry(id);
    await system.sync();
    expect(labels(system.smtp)).toEqual(['O3']);
    expect(await system.phoneLabels('sent')).toEqual(['O3']);
    expect(await system.desktop.labels('Sent')).toEqual(['O3']);
  });

  it('a direct send the relay refuses stays in the Outbox, failed, and can be retried', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    system.relay.refuse.add('friend@example.test');
    await expect(system.phone().send(outgoing('O4', false))).rejects.toThrow(/relay refused/);
    const [failed] = await system.phone().outbox();
    expect(failed).toMatchObject({ sendStatus: 'failed' });
    system.relay.refuse.clear();
    await system.phone().retry(failed!.id);
    expect(labels(system.relay)).toEqual(['O4']);
    expect(await system.phoneLabels('sent')).toEqual(['O4']);
  });

  it('agent killed after the SMTP server accepted and the journal recorded it: the retry files it, sends nothing', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.sync();
    await system.phone().send(outgoing('O5', true));
    const killed = await system.runAgent([], { TWINBOX_KILL_AT: 'after-send-record' });
    expect(killed.signal).toBe('SIGKILL');
    expect(labels(system.smtp)).toEqual(['O5']);
    await system.sync();
    expect(labels(system.smtp)).toEqual(['O5']);
    expect(await system.desktop.labels('Sent')).toEqual(['O5']);
    expect(await system.phoneLabels('sent')).toEqual(['O5']);
  });

  it('agent killed while connected to the SMTP server, before the envelope went out: the next sync sends it, once', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.sync();
    const id = await system.phone().send(outgoing('O7', true));
    const killed = await system.runAgent([], { TWINBOX_KILL_AT: 'before-transmit' });
    expect(killed.signal).toBe('SIGKILL');
    expect(labels(system.smtp)).toEqual([]);
    await system.sync();
    expect(labels(system.smtp)).toEqual(['O7']);
    expect(await system.desktop.labels('Sent')).toEqual(['O7']);
    expect(await system.phone().get(id)).toMatchObject({ folder: 'sent' });
  });

  it('agent killed right after the SMTP hand-over, the outcome not yet journalled: never sent twice, shown as unknown', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.sync();
    const id = await system.phone().send(outgoing('O6', true));
    const killed = await system.runAgent([], { TWINBOX_KILL_AT: 'after-smtp' });
    expect(killed.signal).toBe('SIGKILL');
    await system.sync();
    expect(labels(system.smtp)).toEqual(['O6']);
    const message = (await system.phone().get(id))!;
    expect(message).toMatchObject({ folder: 'outbox', sendStatus: 'failed' });
    expect(message.sendError).toMatch(/state unknown/);
  });
});
