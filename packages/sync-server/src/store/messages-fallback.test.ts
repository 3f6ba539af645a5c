/**
 * Issue 18: a message whose list fields cannot be derived is still stored
 * (and becomes an insert for the desktop) with plain fields and a log line.
 * The parsers are total by construction, so the failure is forced here.
 */
import { describe, expect, it, vi } from 'vitest';
import { PhoneMailbox } from '../phone/phone-mailbox.js';
import { ServerStore } from './index.js';

vi.mock('../mail/mime-parts.js', () => ({
  mimeLeaves: () => {
    throw new Error('the MIME walker failed');
  },
}));

describe('a message whose list fields cannot be derived', () => {
  it('is stored whole with its subject and sender from the plain header, no preview, and a log line', async () => {
    const warnings: [string, Record<string, unknown> | undefined][] = [];
    const log = { error: () => undefined, warn: (m: string, f?: Record<string, unknown>) => void warnings.push([m, f]), info: () => undefined, debug: () => undefined };
    const store = await ServerStore.open(':memory:', log);
    try {
      await store.accounts.add({ id: 'a', desktopAddress: 'a@x', window: 3 });
      const raw = Buffer.from('From: Ann <ann@x>\r\nSubject: =?UTF-8?B?R3LDvMOfZQ==?=\r\n\r\nbody\r\n');
      const id = await new PhoneMailbox(store, 'a').deliver({ raw });
      expect(await store.messages.get('a', id)).toMatchObject({ subject: 'Grüße', from: 'Ann <ann@x>', preview: '' });
      expect(await store.messages.raw('a', id)).toEqual(raw);
      expect((await store.actions.pending('a')).map((a) => a.kind)).toEqual(['insert']);
      expect(warnings).toEqual([['message stored with plain list fields', { account: 'a', phoneId: id, problems: ['structure: the MIME walker failed'] }]]);
    } finally {
      await store.close();
    }
  });
});
