/**
 * Malformed mail (issue 5): broken headers, an unknown charset with 8-bit
 * bytes, nested multiparts missing their closing boundary, no Message-ID or
 * Date. Whichever side it arrives on, the other side gets it byte for byte,
 * it is fingerprinted and mapped once, and the phone API still shows it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TwinboxSystem } from '@twinbox/testkit';
import { expectWindowInvariant } from '../helpers/invariant.js';

const crlf = (s: string) => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'latin1');

const MALFORMED: Record<string, Buffer> = {
  BROKEN: crlf('X-Scenario-Label: BROKEN\nSubject: broken headers\nthis line has no colon\n\tand a fold after it\nFrom: <<<>>>\nDate: not a date at all\n\nbody\n'),
  CHARSET: Buffer.concat([
    crlf('X-Scenario-Label: CHARSET\nSubject: =?x-unknown-9?B?////?=\nMessage-ID: <charset@m>\nContent-Type: text/plain; charset=x-unknown-9\nContent-Transfer-Encoding: 8bit\n\n'),
    Buffer.from([0xe9, 0xe8, 0xff, 0xfe, 0x80, 0x0d, 0x0a]),
  ]),
  NESTED: crlf(
    'X-Scenario-Label: NESTED\nSubject: nested\nMessage-ID: <nested@m>\nContent-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/alternative; boundary=b\n\n--b\nContent-Type: multipart/related; boundary=c\n\n--c\nContent-Type: text/plain\n\ninner\n--c\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\n!!!not base64!!!\n--b\n',
  ),
  BARE: crlf('X-Scenario-Label: BARE\nSubject: no id, no date\n\n' + 'x'.repeat(5000) + '\n'),
};

describe('malformed mail', () => {
  let system: TwinboxSystem;
  beforeAll(async () => {
    system = await TwinboxSystem.start({ window: 10 });
    await system.sync();
    let minute = 0;
    for (const [label, raw] of Object.entries(MALFORMED)) {
      const date = new Date(Date.UTC(2024, 9, 1, 12, minute++));
      await system.desktop.appendRaw(Buffer.concat([crlf(`X-Origin: desktop\n`), raw]), date);
      // A different message from the desktop's: its own Message-ID and, for those without one, another size
      // (same Date/From/Subject/size would be the same message by docs/spec.md §3's fingerprint).
      const phoneCopy = Buffer.concat([crlf('X-Origin: the phone\n'), raw])
        .toString('latin1')
        .replace(`X-Scenario-Label: ${label}`, `X-Scenario-Label: ${label}-P`)
        .replace('@m>', '@p>');
      await system.phoneReceive({ label: `${label}-P`, date }, Buffer.from(phoneCopy, 'latin1'));
    }
    await system.sync();
  });
  afterAll(async () => system?.stop());

  it('both directions: the other side holds the same bytes', async () => {
    for (const label of Object.keys(MALFORMED)) {
      const desktopOrigin = await system.desktop.source(label);
      expect(await system.phone().raw(await system.phoneId(label)), `${label} on the phone`).toEqual(desktopOrigin);
      const phoneOrigin = (await system.phone().raw(await system.phoneId(`${label}-P`)))!;
      expect(await system.desktop.source(`${label}-P`), `${label}-P on the desktop`).toEqual(phoneOrigin);
    }
    await expectWindowInvariant(system, 10);
  });

  it('a further sync changes nothing (each was fingerprinted and mapped once)', async () => {
    const summary = await system.sync();
    expect(summary).toMatchObject({ agentActions: 0, serverActions: 0, pulled: 0, insertedOnDesktop: 0 });
    expect((await system.desktop.labels()).length).toBe(8);
  });

  it('the phone API still shows each of them', async () => {
    const token = await system.addDevice();
    for (const m of await system.phoneMessages('inbox')) {
      const answer = await system.api('GET', `/api/v1/messages/${m.id}`, token);
      expect([m.label, answer.status]).toEqual([m.label, 200]);
    }
  });
});
