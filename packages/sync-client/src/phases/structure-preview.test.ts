import { describe, expect, it } from 'vitest';
import type { MessageStructureObject } from 'imapflow';
import type { DesktopImap } from '../imap/desktop-imap.js';
import { structurePreview } from './structure-preview.js';

const header = Buffer.from('Subject: huge\r\nContent-Type: multipart/mixed; boundary="o"\r\n\r\n');
const structure = {
  type: 'multipart/mixed',
  parameters: { boundary: 'o' },
  childNodes: [
    {
      part: '1',
      type: 'multipart/alternative',
      parameters: { boundary: 'a' },
      childNodes: [
        { part: '1.1', type: 'text/plain', size: 5 },
        { part: '1.2', type: 'text/html', size: 12 },
      ],
    },
    { part: '2', type: 'image/png', size: 100, encoding: 'base64' },
    { part: '3', type: 'application/pdf', size: 78_000_000, encoding: 'base64', disposition: 'attachment' },
  ],
} as unknown as MessageStructureObject;

const sections: Record<string, string> = {
  '1.mime': 'Content-Type: multipart/alternative; boundary="a"\r\n\r\n',
  '1.1.mime': 'Content-Type: text/plain\r\n\r\n',
  '1.1': 'hello',
  '1.2.mime': 'Content-Type: text/html\r\n\r\n',
  '1.2': '<p>hello</p>',
  '2.mime': 'Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n',
  '2': 'iVBORw0KGgo=',
  '3.mime': 'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="big.pdf"\r\n\r\n',
};

function fakeImap(asked: string[][], served = sections): DesktopImap {
  return {
    structureOf: async () => ({ structure, header }),
    sectionsOf: async (_role: string, _uid: number, wanted: string[]) => {
      asked.push(wanted);
      return new Map(wanted.filter((w) => served[w.toLowerCase()] !== undefined).map((w) => [w.toLowerCase(), Buffer.from(served[w.toLowerCase()]!)]));
    },
  } as unknown as DesktopImap;
}

describe('structurePreview (a message larger than a frame, never read whole)', () => {
  it('puts the header, the kept parts and the marked MIME header of each part left out together along the boundaries', async () => {
    const asked: string[][] = [];
    const preview = (await structurePreview(fakeImap(asked), 'inbox', 7))!;
    // The 78 MB body is never asked for.
    expect(asked).toEqual([['1.MIME', '1.1.MIME', '1.1', '1.2.MIME', '1.2', '2.MIME', '2', '3.MIME']]);
    expect(preview.omitted).toEqual([{ partId: '3', size: 57_000_000 }]);
    expect(preview.body.toString('latin1')).toBe(
      [
        'Subject: huge',
        'Content-Type: multipart/mixed; boundary="o"',
        '',
        '--o',
        'Content-Type: multipart/alternative; boundary="a"',
        '',
        '--a',
        'Content-Type: text/plain',
        '',
        'hello',
        '--a',
        'Content-Type: text/html',
        '',
        '<p>hello</p>',
        '--a--',
        '--o',
        'Content-Type: image/png',
        'Content-Transfer-Encoding: base64',
        '',
        'iVBORw0KGgo=',
        '--o',
        'X-Twinbox-Omitted: part=3; size=57000000',
        'Content-Type: application/pdf',
        'Content-Disposition: attachment; filename="big.pdf"',
        '',
        '',
        '--o--',
        '',
      ].join('\r\n'),
    );
  });

  it('a section the server does not serve gives no preview (the caller sends the stand-in)', async () => {
    const { '2': _kept, ...missing } = sections;
    expect(await structurePreview(fakeImap([], missing), 'inbox', 7)).toBeUndefined();
  });
});
