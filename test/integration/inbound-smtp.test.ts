/**
 * Mail to the phone address through the server's inbound SMTP (docs/spec.md §5):
 * it lands in the phone Inbox and reaches the desktop at the next sync;
 * unknown recipients and oversized messages are refused with the right code
 * and change nothing; only a trusted sender may state the arrival time.
 */
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwinboxSystem, makeMessage } from '@twinbox/testkit';

async function send(system: TwinboxSystem, to: string, raw: Buffer): Promise<void> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: system.smtpPort, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({ envelope: { from: 'someone@example.test', to: [to] }, raw });
  } finally {
    transport.close();
  }
}

describe('inbound SMTP for the phone address', () => {
  let system: TwinboxSystem;
  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 3 });
    await system.sync();
  });
  afterAll(async () => system?.stop());

  it('a delivered message lands in the phone Inbox, byte for byte, and becomes an insert for the desktop', async () => {
    const raw = makeMessage({ label: 'M1' });
    await send(system, 'User1@Phone.Invalid', raw);
    expect(await system.phoneLabels()).toEqual(['M1']);
    expect(await system.phone().raw(await system.phoneId('M1'))).toEqual(raw);
    expect((await system.store.actions.pending('user1')).map((a) => a.kind)).toEqual(['insert']);
    await system.sync();
    expect(await system.desktop.labels()).toEqual(['M1']);
  });

  it('an unknown recipient is refused at RCPT TO with 550', async () => {
    await expect(send(system, 'nobody@phone.invalid', makeMessage({ label: 'X1' }))).rejects.toMatchObject({ responseCode: 550 });
    expect(await system.phoneLabels()).toEqual(['M1']);
  });

  it('an oversized message is refused with 552 and nothing is stored', async () => {
    await expect(send(system, 'user1@phone.invalid', makeMessage({ label: 'BIG', size: 26 * 1024 * 1024 }))).rejects.toMatchObject({ responseCode: 552 });
    expect(await system.phoneLabels()).toEqual(['M1']);
  });

  it('the arrival-time header is honoured from a trusted sender and removed; from anyone else it is ignored and kept', async () => {
    const stated = new Date('2024-01-02T03:04:05Z');
    await system.phoneReceive({ label: 'T1', date: stated });
    const trusted = (await system.phone().get(await system.phoneId('T1')))!;
    expect(trusted.date).toBe(stated.getTime());
    expect((await system.phone().raw(trusted.id))!.toString()).not.toMatch(/X-Twinbox-Arrival/i);

    await system.stopServer();
    system.editServerConfig((c) => (c.smtp.trustedSenders = []));
    await system.startServer();
    const before = Date.now();
    await system.phoneReceive({ label: 'U1', date: stated });
    const untrusted = (await system.phone().get(await system.phoneId('U1')))!;
    expect(untrusted.date).toBeGreaterThanOrEqual(before);
    expect((await system.phone().raw(untrusted.id))!.toString()).toMatch(/X-Twinbox-Arrival: 2024-01-02T03:04:05.000Z/);
  });
});
