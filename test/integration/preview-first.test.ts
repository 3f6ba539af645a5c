/**
 * Issue 21, preview first in the window (docs/reach.md "Preview first"), all
 * real: Dovecot, the server process, the agent (one-off syncs and the
 * background agent, whose request lane fetches what a preview left out).
 *
 * A window of messages with a few-MB attachment each: with the threshold off
 * the phone holds them whole, byte for byte (as before); with the default
 * 256 KiB they come back as previews and the phone holds about the previews
 * (the bytes per account are printed). Such a message opens with its text and
 * attachment list; the attachment downloads byte for byte through the agent;
 * forwarded from the phone it carries the whole file; read, flag and trash
 * from the phone reach the desktop; the same mail
 * arriving whole at the phone address is not stored twice; after the agent
 * starts over (its database deleted) every preview pairs again with its
 * desktop original — nothing appended, nothing pulled twice.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS } from '@twinbox/protocol';
import { TwinboxSystem, type AgentDaemon } from '@twinbox/testkit';

const MB = 1024 * 1024;
const day = (d: number) => new Date(Date.UTC(2026, 1, d, 9));

/** A labelled message: text, HTML, a small inline image, and one large attachment (base64, lines of 76). */
function bigMessage(label: string, attachment: Buffer, date: Date): Buffer {
  const b64 = (bytes: Buffer) => bytes.toString('base64').replace(/(.{76})/g, '$1\r\n');
  return Buffer.from(
    [
      `X-Scenario-Label: ${label}`,
      'From: Colleague <colleague@example.test>',
      'To: user1@example.test',
      `Subject: ${label} quarterly figures`,
      `Date: ${date.toUTCString()}`,
      `Message-ID: <${label}.${randomBytes(4).toString('hex')}@preview.test>`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary="alt"',
      '',
      '--alt',
      'Content-Type: text/plain; charset=utf-8',
      '',
      `The figures for ${label} are attached.`,
      '--alt',
      'Content-Type: text/html; charset=utf-8',
      '',
      `<p>The figures for <b>${label}</b> are attached.</p>`,
      '--alt--',
      '--outer',
      'Content-Type: image/png; name="logo.png"',
      'Content-ID: <logo>',
      'Content-Disposition: inline; filename="logo.png"',
      'Content-Transfer-Encoding: base64',
      '',
      b64(randomBytes(2000)),
      '--outer',
      `Content-Type: application/octet-stream; name="${label}.bin"`,
      `Content-Disposition: attachment; filename="${label}.bin"`,
      'Content-Transfer-Encoding: base64',
      '',
      b64(attachment),
      '--outer--',
      '',
    ].join('\r\n'),
  );
}

describe('preview first in the window (docs/reach.md)', () => {
  let system: TwinboxSystem;
  let daemon: AgentDaemon | undefined;
  let token: string;
  const labels = ['B1', 'B2', 'B3', 'B4'];
  const attachments = new Map(labels.map((l) => [l, randomBytes(3 * MB + 4321)]));
  const raws = new Map<string, Buffer>();
  const bytesOnPhone = () => system.store.messages.bytes('user1');
  const setThreshold = async (previewAboveBytes: number | undefined) => {
    await system.stopServer();
    system.editServerConfig((c) => {
      const config = c as { reach?: Record<string, number> };
      config.reach = { ...(config.reach ?? {}), timeoutSeconds: 20 };
      if (previewAboveBytes === undefined) delete config.reach.previewAboveBytes;
      else config.reach.previewAboveBytes = previewAboveBytes;
    });
    await system.startServer();
  };
  const message = async (label: string) => {
    const answer = await system.api('GET', `/api/v1/messages/${await system.phoneId(label)}`, token);
    expect(answer.status, answer.raw.toString()).toBe(200);
    return answer.json as { text: string; html: string | null; size: number; partial?: boolean; attachments: { index: number; filename: string; size: number; onDesktop?: boolean }[] };
  };

  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 5 });
    token = await system.addDevice();
    for (const [i, label] of labels.entries()) {
      const raw = bigMessage(label, attachments.get(label)!, day(i + 1));
      raws.set(label, raw);
      await system.desktop.appendRaw(raw, day(i + 1));
    }
  });

  afterAll(async () => {
    await daemon?.stop();
    await system?.stop();
  });

  it('threshold off (previewAboveBytes 0): the window is held whole, byte for byte, as before; the default then holds about the previews', async () => {
    await setThreshold(0);
    expect((await system.sync()).pulled).toBe(4);
    for (const label of labels) expect((await system.phone().raw(await system.phoneId(label)))!.equals(raws.get(label)!)).toBe(true);
    const whole = await bytesOnPhone();
    expect(whole).toBeGreaterThan(4 * 4 * MB);

    // The same window again under the default threshold: a newer small message and a window of 1 push the big
    // ones out of the phone (the desktop keeps them), a window of 5 brings them back — now as previews.
    await system.desktop.deliver({ label: 'S1', date: day(9) });
    await system.store.accounts.setOptions('user1', { window: 1 });
    await system.sync();
    expect(await system.phoneLabels()).toEqual(['S1']);
    await setThreshold(undefined);
    await system.store.accounts.setOptions('user1', { window: 5 });
    expect((await system.sync()).pulled).toBe(4);
    expect(await system.phoneLabels()).toEqual(['S1', 'B4', 'B3', 'B2', 'B1']);
    const previews = await bytesOnPhone();
    console.log(`phone bytes for user1, window of 4 × ${(raws.get('B1')!.length / MB).toFixed(1)} MB messages + 1 small: whole ${whole}, previews ${previews}`);
    expect(previews).toBeLessThan(64 * 1024);
    for (const label of labels) {
      const stored = (await system.phone().get(await system.phoneId(label)))!;
      const raw = raws.get(label)!;
      // The whole message's identity and size, the preview's bytes.
      expect(stored.size).toBe(raw.length);
      expect(stored.heldParts).toEqual([{ partId: '3', size: attachments.get(label)!.length }]);
      expect((await system.phone().raw(stored.id))!.length).toBeLessThan(10_000);
    }
    // The desktop still holds every message whole.
    for (const label of labels) expect((await system.desktop.source(label)).equals(raws.get(label)!)).toBe(true);
  });

  it('opening a preview shows its text and attachment list; the attachment downloads byte for byte through the agent', async () => {
    daemon = await system.startDaemon(['--schedule', 'off', '--no-startup-sync']);
    await expect.poll(async () => (await system.api('GET', '/api/v1/status', token)).json.agentConnected, { timeout: 20_000 }).toBe(true);
    const b4 = await message('B4');
    expect(b4.partial).toBe(true);
    expect(b4.text).toContain('The figures for B4 are attached.');
    expect(b4.html).toContain('<b>B4</b>');
    expect(b4.size).toBe(raws.get('B4')!.length);
    expect(b4.attachments).toEqual([
      expect.objectContaining({ filename: 'logo.png', size: 2000 }),
      expect.objectContaining({ filename: 'B4.bin', size: attachments.get('B4')!.length, onDesktop: true }),
    ]);
    expect(b4.attachments[0]!.onDesktop).toBeUndefined();
    const big = b4.attachments[1]!;
    const download = await system.api('GET', `/api/v1/messages/${await system.phoneId('B4')}/attachments/${big.index}`, token);
    expect(download.status, download.raw.toString().slice(0, 300)).toBe(200);
    expect(download.headers['content-disposition']).toContain("filename*=UTF-8''B4.bin");
    expect(download.raw.equals(attachments.get('B4')!)).toBe(true);
    // The small inline part is the phone's own.
    const logo = await system.api('GET', `/api/v1/messages/${await system.phoneId('B4')}/attachments/0`, token);
    expect(logo.raw.length).toBe(2000);
    // Forward with the attachment, as the web app does it (format.ts forwardDraft: the attachment is fetched from its
    // route and sent along): the desktop's SMTP server gets the full file.
    const forward = await system.api('POST', '/api/v1/send', token, {
      to: ['boss@example.test'],
      subject: 'Fwd: B4 quarterly figures',
      text: 'see below',
      attachments: [{ filename: 'B4.bin', contentType: 'application/octet-stream', contentBase64: download.raw.toString('base64') }],
      viaSync: true,
    });
    expect(forward.status, forward.raw.toString()).toBe(202);
    await expect.poll(() => system.smtp.received.length, { timeout: 20_000 }).toBe(1);
    const parsed = await simpleParser(system.smtp.received[0]!.raw);
    expect(parsed.attachments.map((a) => a.content.equals(attachments.get('B4')!))).toEqual([true]);
  });

  it('read, flag and trash from the phone reach the desktop as for a message held whole', async () => {
    const phone = async (op: string, label: string) => system.api('POST', `/api/v1/messages/${await system.phoneId(label)}/${op}`, token);
    expect((await phone('read', 'B3')).status).toBe(200);
    expect((await phone('flag', 'B2')).status).toBe(200);
    expect((await phone('trash', 'B1')).status).toBe(200);
    await expect.poll(async () => (await system.desktop.list()).find((m) => m.label === 'B3')?.seen, { timeout: 20_000 }).toBe(true);
    await expect.poll(async () => (await system.desktop.list()).find((m) => m.label === 'B2')?.flagged, { timeout: 20_000 }).toBe(true);
    await expect.poll(async () => await system.desktop.labels('Trash'), { timeout: 20_000 }).toEqual(['B1']);
    // In Trash on both sides, its attachment still comes from the desktop (now from its Trash).
    const trashed = await system.api('GET', `/api/v1/messages/${await system.phoneId('B1')}`, token);
    const part = (trashed.json as { attachments: { index: number; onDesktop?: boolean }[] }).attachments.find((a) => a.onDesktop)!;
    const download = await system.api('GET', `/api/v1/messages/${await system.phoneId('B1')}/attachments/${part.index}`, token);
    expect(download.raw.equals(attachments.get('B1')!)).toBe(true);
    expect((await system.desktop.source('B1', 'Trash')).equals(raws.get('B1')!)).toBe(true);
  });

  it('the same mail arriving whole at the phone address is the same message: nothing stored twice', async () => {
    const before = await bytesOnPhone();
    await system.phoneReceive({ label: 'B4' }, raws.get('B4')!);
    expect((await system.phoneLabels()).filter((l) => l === 'B4')).toHaveLength(1);
    expect(await bytesOnPhone()).toBe(before);
  });

  it('after the agent starts over (its database deleted) the previews pair again: nothing appended, nothing pulled twice', async () => {
    await daemon!.stop();
    daemon = undefined;
    const phoneBefore = { inbox: await system.phoneLabels(), trash: await system.phoneLabels('trash'), bytes: await bytesOnPhone() };
    const desktopBefore = { inbox: await system.desktop.labels(), trash: await system.desktop.labels('Trash') };
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${system.agentDatabase}${suffix}`, { force: true });
    const again = await system.sync();
    expect(again).toMatchObject({ mode: 'initial', insertedOnDesktop: 0, pulled: 0 });
    expect({ inbox: await system.desktop.labels(), trash: await system.desktop.labels('Trash') }).toEqual(desktopBefore);
    expect({ inbox: await system.phoneLabels(), trash: await system.phoneLabels('trash'), bytes: await bytesOnPhone() }).toEqual(phoneBefore);
    // Flags agreed before still agree, and a quiet sync after changes nothing.
    expect((await system.desktop.list()).find((m) => m.label === 'B3')?.seen).toBe(true);
    expect(await system.sync()).toMatchObject({ mode: 'update', pulled: 0, insertedOnDesktop: 0 });
    // The new mapping reaches the desktop original: an attachment not downloaded before comes byte for byte.
    daemon = await system.startDaemon(['--schedule', 'off', '--no-startup-sync']);
    await expect.poll(async () => (await system.api('GET', '/api/v1/status', token)).json.agentConnected, { timeout: 20_000 }).toBe(true);
    const b2 = await message('B2');
    const part = b2.attachments.find((a) => a.onDesktop)!;
    const download = await system.api('GET', `/api/v1/messages/${await system.phoneId('B2')}/attachments/${part.index}`, token);
    expect(download.raw.equals(attachments.get('B2')!)).toBe(true);
  });

  it('a message larger than a frame carries: a preview instead of the stand-in, known by its size as before; its attachment downloads', async () => {
    const attachment = randomBytes(46 * MB);
    const raw = bigMessage('HUGE', attachment, day(20));
    expect(raw.length).toBeGreaterThan(LIMITS.maxMessageBytes);
    await system.desktop.appendRaw(raw, day(20));
    // The background agent hears the new mail (desktop push) and pulls it.
    await expect.poll(async () => (await system.phoneLabels())[0], { timeout: 60_000 }).toBe('HUGE');
    const stored = (await system.phone().get(await system.phoneId('HUGE')))!;
    expect(stored).toMatchObject({ size: raw.length, digest: `standin:${raw.length}` });
    expect(stored.heldParts).toEqual([{ partId: '3', size: expect.any(Number) }]);
    expect((await system.phone().raw(stored.id))!.length).toBeLessThan(10_000);
    const huge = await message('HUGE');
    expect(huge.text).toContain('The figures for HUGE are attached.');
    const part = huge.attachments.find((a) => a.onDesktop)!;
    expect(part.filename).toBe('HUGE.bin');
    const download = await system.api('GET', `/api/v1/messages/${stored.id}/attachments/${part.index}`, token);
    expect(download.status).toBe(200);
    expect(download.raw.equals(attachment)).toBe(true);
    // Read on the phone: the desktop original follows, and stays whole.
    expect((await system.api('POST', `/api/v1/messages/${stored.id}/read`, token)).status).toBe(200);
    await expect.poll(async () => (await system.desktop.list()).find((m) => m.label === 'HUGE')?.seen, { timeout: 20_000 }).toBe(true);
    expect((await system.desktop.source('HUGE')).equals(raw)).toBe(true);
  });
});
