import { describe, expect, it } from 'vitest';
import { ClientStream, ServerStream, serverStreamRewriter } from './imap-rewriter.js';

describe('serverStreamRewriter', () => {
  it('drops [UIDNEXT] and UIDPLUS codes, across chunk borders, and never touches a literal', () => {
    const rewrite = serverStreamRewriter({ uidNext: true, uidplusCodes: true });
    const body = '* OK [UIDNEXT 9] inside a message\r\nA1 OK [APPENDUID 1 2] in it too\r\n';
    const input = `* 3 EXISTS\r\n* OK [UIDNEXT 42] Predicted next UID\r\n* 1 FETCH (UID 5 BODY[] {${body.length}}\r\n${body})\r\nA2 OK [APPENDUID 77 43] Append completed.\r\nA3 OK [COPYUID 7 1 9] Done\r\n`;
    const bytes = Buffer.from(input, 'latin1');
    const out = Buffer.concat([rewrite(bytes.subarray(0, 30)), rewrite(bytes.subarray(30, 95)), rewrite(bytes.subarray(95))]).toString('latin1');
    expect(out).toBe(`* 3 EXISTS\r\n* 1 FETCH (UID 5 BODY[] {${body.length}}\r\n${body})\r\nA2 OK Append completed.\r\nA3 OK Done\r\n`);
  });

  it('adds what the posed server enables to * ENABLED, once, and says it where Dovecot says nothing', () => {
    const rewrite = serverStreamRewriter({ enabled: ['UTF8=ACCEPT'] });
    expect(rewrite(Buffer.from('* ENABLED\r\nA1 OK Enabled.\r\n* ENABLED CONDSTORE UTF8=ACCEPT\r\n')).toString()).toBe('* ENABLED UTF8=ACCEPT\r\nA1 OK Enabled.\r\n* ENABLED CONDSTORE UTF8=ACCEPT\r\n');
    const server = new ServerStream({ enabled: ['UTF8=ACCEPT'] });
    server.enableSent('A2');
    expect(server.push(Buffer.from('* 1 EXISTS\r\nA2 OK Enabled.\r\nA3 OK Noop.\r\n')).toString()).toBe('* 1 EXISTS\r\n* ENABLED UTF8=ACCEPT\r\nA2 OK Enabled.\r\nA3 OK Noop.\r\n');
  });
});

describe('a refused command (ClientStream) and its answer (ServerStream.inject)', () => {
  const courier = [{ command: /^UID SORT \([^)]*\) (?!UTF-8 )/i, answer: 'BAD [BADCHARSET] Only UTF-8 charset is valid after enabling RFC 6855 support' }];

  it('answers the refused command, forwards everything else byte for byte, across chunk borders', () => {
    const stream = new ClientStream(courier);
    const input = Buffer.from('A1 UID SORT (REVERSE ARRIVAL) US-ASCII ALL\r\nA2 UID SORT (REVERSE ARRIVAL) UTF-8 ALL\r\nA3 NOOP\r\n');
    const a = stream.push(input.subarray(0, 20));
    const b = stream.push(input.subarray(20));
    expect(Buffer.concat([a.forward, b.forward]).toString()).toBe('A2 UID SORT (REVERSE ARRIVAL) UTF-8 ALL\r\nA3 NOOP\r\n');
    expect([...a.answers, ...b.answers]).toEqual(['A1 BAD [BADCHARSET] Only UTF-8 charset is valid after enabling RFC 6855 support']);
    expect([...a.refused, ...b.refused]).toEqual(['UID SORT (REVERSE ARRIVAL) US-ASCII ALL']);
  });

  it('a literal is never read as a command; a refused command is dropped with its LITERAL+ literal', () => {
    const rules = [{ command: /^UID SEARCH .*HEADER/i, answer: 'BAD Not supported' }];
    const stream = new ClientStream(rules);
    const body = 'A9 UID SEARCH HEADER inside the body\r\n';
    const input = `A1 APPEND INBOX {${body.length}+}\r\n${body}\r\nA2 UID SEARCH HEADER Message-ID {5+}\r\n<a@b>\r\nA3 NOOP\r\n`;
    const out = stream.push(Buffer.from(input));
    expect(out.forward.toString()).toBe(`A1 APPEND INBOX {${body.length}+}\r\n${body}\r\nA3 NOOP\r\n`);
    expect(out.answers).toEqual(['A2 BAD Not supported']);
    // A synchronizing literal of a refused command: the client waits for "+", gets the answer, sends no literal.
    const sync = new ClientStream(rules).push(Buffer.from('A4 UID SEARCH HEADER Message-ID {5}\r\nA5 NOOP\r\n'));
    expect(sync.forward.toString()).toBe('A5 NOOP\r\n');
  });

  it('an answer of our own waits for the end of a literal the server is sending', () => {
    const server = new ServerStream({});
    const head = server.push(Buffer.from('* 1 FETCH (BODY[] {10}\r\n01234'));
    expect(server.inject('A7 BAD no').toString()).toBe('');
    const rest = server.push(Buffer.from('56789)\r\nA6 OK done\r\n'));
    expect(Buffer.concat([head, rest]).toString()).toBe('* 1 FETCH (BODY[] {10}\r\n0123456789)\r\nA7 BAD no\r\nA6 OK done\r\n');
    expect(server.inject('A8 NO later').toString()).toBe('A8 NO later\r\n');
  });
});
