import { describe, expect, it } from 'vitest';
import { serverStreamRewriter } from './imap-rewriter.js';

describe('serverStreamRewriter', () => {
  it('drops [UIDNEXT] and UIDPLUS codes, across chunk borders, and never touches a literal', () => {
    const rewrite = serverStreamRewriter({ uidNext: true, uidplusCodes: true });
    const body = '* OK [UIDNEXT 9] inside a message\r\nA1 OK [APPENDUID 1 2] in it too\r\n';
    const input = `* 3 EXISTS\r\n* OK [UIDNEXT 42] Predicted next UID\r\n* 1 FETCH (UID 5 BODY[] {${body.length}}\r\n${body})\r\nA2 OK [APPENDUID 77 43] Append completed.\r\nA3 OK [COPYUID 7 1 9] Done\r\n`;
    const bytes = Buffer.from(input, 'latin1');
    const out = Buffer.concat([rewrite(bytes.subarray(0, 30)), rewrite(bytes.subarray(30, 95)), rewrite(bytes.subarray(95))]).toString('latin1');
    expect(out).toBe(`* 3 EXISTS\r\n* 1 FETCH (UID 5 BODY[] {${body.length}}\r\n${body})\r\nA2 OK Append completed.\r\nA3 OK Done\r\n`);
  });
});
