/**
 * 50 MB messages end to end (issue 5): one that arrives on the desktop goes
 * to the phone byte for byte; one that arrives at the phone's address is
 * refused at DATA with a clear 552 under the default 25 MB limit, stored
 * whole under a 60 MB one and reaches the desktop byte for byte. A desktop
 * message above the 60 MiB a frame carries goes to the phone as a stand-in
 * (its headers and a note) instead of stopping every sync.
 *
 * Preview first (docs/reach.md) is off here (`reach.previewAboveBytes` 0): this
 * file is about messages held whole; test/integration/preview-first.test.ts
 * covers the default, where a large window message is held as a preview.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '@twinbox/protocol';
import { TwinboxSystem } from '@twinbox/testkit';

const MB = 1024 * 1024;

/** A message with a base64 attachment, `size` bytes in all, labelled for the test kit. */
function bigMessage(label: string, size: number): Buffer {
  const head = Buffer.from(
    `X-Scenario-Label: ${label}\r\nMessage-ID: <${label}@big>\r\nSubject: ${label}\r\nFrom: a@example.test\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n` +
      `--zz\r\nContent-Type: text/plain\r\n\r\nsee attachment\r\n--zz\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n`,
  );
  const tail = Buffer.from('\r\n--zz--\r\n');
  const lines = Math.ceil((size - head.length - tail.length) / 78);
  const base64 = randomBytes(lines * 57).toString('base64').replace(/.{76}/g, '$&\r\n');
  return Buffer.concat([head, Buffer.from(base64).subarray(0, size - head.length - tail.length), tail]);
}

describe('50 MB messages', () => {
  let system: TwinboxSystem;
  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 5 });
    await system.stopServer();
    system.editServerConfig((c) => ((c as { reach?: object }).reach = { previewAboveBytes: 0 }));
    await system.startServer();
  });
  afterAll(async () => system?.stop());

  it('from the desktop: the phone holds the same 50 MB', async () => {
    const raw = bigMessage('BIG-D', 50 * MB);
    await system.desktop.appendRaw(raw, new Date(Date.UTC(2024, 9, 1)));
    const summary = await system.sync();
    expect(summary.pulled).toBe(1);
    expect((await system.phone().raw(await system.phoneId('BIG-D')))!.equals(raw)).toBe(true);
  });

  it('to the phone address: refused at DATA with 552 under the default limit, nothing stored', async () => {
    const raw = bigMessage('BIG-P', 50 * MB);
    await expect(system.phoneReceive({ label: 'BIG-P' }, raw)).rejects.toThrow(/552.*larger than 26214400 bytes/);
    expect(await system.phoneLabels()).toEqual(['BIG-D']);
  });

  it('to the phone address under a 60 MB limit: stored whole and synced to the desktop byte for byte', async () => {
    await system.stopServer();
    system.editServerConfig((c) => (c.smtp.maxMessageBytes = 60 * MB));
    await system.startServer();
    const raw = bigMessage('BIG-P', 50 * MB);
    await system.phoneReceive({ label: 'BIG-P', date: new Date(Date.UTC(2024, 9, 2)) }, raw);
    expect((await system.phone().raw(await system.phoneId('BIG-P')))!.equals(raw)).toBe(true);
    const summary = await system.sync();
    expect(summary.insertedOnDesktop).toBe(1);
    expect((await system.desktop.source('BIG-P')).equals(raw)).toBe(true);
    expect(await system.desktop.labels()).toEqual(['BIG-P', 'BIG-D']);
  });

  it('a desktop message larger than a frame carries: a stand-in on the phone, the rest of the sync goes on, flags follow, never duplicated', async () => {
    const raw = bigMessage('HUGE', LIMITS.maxMessageBytes + MB);
    await system.desktop.appendRaw(raw, new Date(Date.UTC(2024, 9, 3)));
    await system.desktop.deliver({ label: 'SMALL', date: new Date(Date.UTC(2024, 9, 4)) });
    const summary = await system.sync();
    expect(summary.pulled).toBe(2);
    expect(await system.phoneLabels()).toEqual(['SMALL', 'HUGE', 'BIG-P', 'BIG-D']);
    const standIn = (await system.phone().raw(await system.phoneId('HUGE')))!.toString('latin1');
    expect(standIn).toContain('Subject: HUGE\r\n');
    expect(standIn).toContain(`X-Twinbox-Stand-In: original ${raw.length} bytes`);
    expect(standIn).toMatch(/This message is 61\.0 MB, larger than the 60\.0 MB a message on the phone can be/);
    expect(standIn.length).toBeLessThan(2000);
    expect(await system.phone().get(await system.phoneId('HUGE'))).toMatchObject({ size: raw.length, fingerprint: 'mid:HUGE@big' });

    // Read on the phone: the desktop original is marked read; it stays whole there.
    await system.phone().markRead(await system.phoneId('HUGE'));
    await system.sync();
    const huge = (await system.desktop.list()).find((m) => m.label === 'HUGE')!;
    expect(huge.seen).toBe(true);
    expect((await system.desktop.source('HUGE')).equals(raw)).toBe(true);

    // The agent's state lost: the initial sync recognises the stand-in as the original, nothing twice.
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${system.agentDatabase}${suffix}`, { force: true });
    const again = await system.sync();
    expect(again).toMatchObject({ mode: 'initial', insertedOnDesktop: 0 });
    expect(await system.desktop.labels()).toEqual(['SMALL', 'HUGE', 'BIG-P', 'BIG-D']);
    expect(await system.phoneLabels()).toEqual(['SMALL', 'HUGE', 'BIG-P', 'BIG-D']);
  });
});
