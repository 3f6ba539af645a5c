import { describe, expect, it } from 'vitest';
import { expandSet, searchOf, searchWords } from './query.js';

describe('search text as IMAP search words (docs/reach.md)', () => {
  it('control characters are white space: CR LF never reaches a command line', () => {
    expect(searchWords('x"\r\nA1 DELETE INBOX\r\n')).toBe('x" A1 DELETE INBOX');
    expect(searchWords('{5}\r\n\0abc')).toBe('{5} abc');
    expect(searchWords(' \t\r\n ')).toBe('');
  });

  it('the filter becomes imapflow search keys, one value each; empty words are left out', () => {
    expect(searchOf({ text: ' \r\n', subject: '"Q3" {5}', unread: true, flagged: false })).toEqual({ deleted: false, subject: '"Q3" {5}', seen: false, flagged: false });
    expect(searchOf({ after: Date.UTC(2026, 0, 2), before: Date.UTC(2026, 0, 5) })).toEqual({ deleted: false, since: new Date(Date.UTC(2026, 0, 2)), before: new Date(Date.UTC(2026, 0, 5)) });
  });

  it('compact UID sets expand', () => {
    expect(expandSet('1,5:7,10')).toEqual([1, 5, 6, 7, 10]);
    expect(expandSet('')).toEqual([]);
  });
});
