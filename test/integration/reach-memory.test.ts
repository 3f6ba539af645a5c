/**
 * Issue 21's bar: the agent's memory stays bounded while a large attachment
 * streams to the phone (docs/reach.md: chunks of 256 KiB within credit), and
 * so does the server's. Peak RSS (VmHWM) of each process, read before and
 * after; the attachment's bytes arrive whole and equal. Measured (2 cores):
 * a 20, 60 and 64 MiB part raise each peak by 38–57 MiB whatever the size —
 * chunks already sent and not yet collected: V8 collects Buffers when their
 * external memory has grown by about 64 MiB, so that much is noise, not the
 * part. The part here is therefore 128 MiB and the growth must stay below
 * 96 MiB: a process that held the part whole grows by at least 128 MiB, one
 * that streams it by at most what V8 lets pile up.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { MiB, TwinboxSystem, processMemory } from '@twinbox/testkit';

const PART_MIB = 128;
/** Below the part, above what V8 lets pile up before it collects (see above). */
const GROWTH_BOUND_MIB = 96;

function withAttachment(attachment: Buffer): Buffer {
  const b64 = attachment.toString('base64').replace(/(.{76})/g, '$1\r\n');
  return Buffer.from(
    [
      'From: Colleague <colleague@example.test>',
      'To: user1@example.test',
      'Subject: BIG the video',
      'Date: Mon, 05 Jan 2026 09:00:00 +0000',
      'Message-ID: <big.1@twinbox.test>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain',
      '',
      'The video.',
      '--b',
      'Content-Type: application/octet-stream; name="video.bin"',
      'Content-Disposition: attachment; filename="video.bin"',
      'Content-Transfer-Encoding: base64',
      '',
      b64,
      '--b--',
      '',
    ].join('\r\n'),
  );
}

describe('a 128 MiB attachment through the request lane', () => {
  let system: TwinboxSystem | undefined;
  afterAll(async () => {
    await system?.stop();
  });

  it('reach-memory: streamed, bytes equal, the agent never holds it whole', async () => {
    system = await TwinboxSystem.start({ window: 3 });
    const attachment = randomBytes(PART_MIB * MiB);
    await system.desktop.createFolder('Media');
    await system.desktop.appendTo('Media', withAttachment(attachment), new Date(Date.UTC(2026, 0, 5)));
    const token = await system.addDevice();
    const daemon = await system.startDaemon(['--schedule', 'off']);
    await daemon.waitFor((e) => e.event === 'sync', 60_000);
    let found: { id: string } | undefined;
    for (let i = 0; i < 100 && !found; i++) {
      const answer = await system.api('POST', '/api/v1/desktop/query', token, { filter: { inMailbox: 'Media' } });
      found = answer.status === 200 ? answer.json.items[0] : undefined;
      if (!found) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const agentBefore = processMemory(daemon.child.pid!);
    const serverBefore = processMemory(system.serverPid);
    const download = await system.api('GET', `/api/v1/desktop/emails/${found!.id}/parts/2`, token);
    const agentAfter = processMemory(daemon.child.pid!);
    const serverAfter = processMemory(system.serverPid);
    expect(download.status).toBe(200);
    expect(download.raw.equals(attachment)).toBe(true);
    const agentGrew = (agentAfter.peakRssBytes - agentBefore.rssBytes) / MiB;
    const serverGrew = (serverAfter.peakRssBytes - serverBefore.rssBytes) / MiB;
    console.log(`peak RSS growth while streaming ${PART_MIB} MiB: agent +${agentGrew.toFixed(1)} MiB (peak ${(agentAfter.peakRssBytes / MiB).toFixed(1)}), server +${serverGrew.toFixed(1)} MiB (peak ${(serverAfter.peakRssBytes / MiB).toFixed(1)})`);
    expect(agentGrew).toBeLessThan(GROWTH_BOUND_MIB);
    expect(serverGrew).toBeLessThan(GROWTH_BOUND_MIB);
  });
});
