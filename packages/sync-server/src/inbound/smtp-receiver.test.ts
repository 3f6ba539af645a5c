import { describe, expect, it } from 'vitest';
import { takeArrivalHeader } from './smtp-receiver.js';

describe('takeArrivalHeader', () => {
  it('removes the header wherever it is in the header block and returns its value', () => {
    for (const [input, expected] of [
      ['X-Twinbox-Arrival: 2024-01-01T00:00:00Z\r\nSubject: a\r\n\r\nbody\r\n', 'Subject: a\r\n\r\nbody\r\n'],
      ['Subject: a\r\nx-twinbox-arrival: 2024-01-01T00:00:00Z\r\n\r\nbody\r\n', 'Subject: a\r\n\r\nbody\r\n'],
      ['Subject: a\nX-Twinbox-Arrival: 2024-01-01T00:00:00Z\nTo: b\n\nbody\n', 'Subject: a\nTo: b\n\nbody\n'],
    ]) {
      const taken = takeArrivalHeader(Buffer.from(input!));
      expect(taken.arrival).toBe('2024-01-01T00:00:00Z');
      expect(taken.raw.toString()).toBe(expected);
    }
  });

  it('joins a folded value and leaves the body alone, even a body line that looks like the header', () => {
    const taken = takeArrivalHeader(Buffer.from('X-Twinbox-Arrival: 2024-01-01\r\n T00:00:00Z\r\nSubject: a\r\n\r\nX-Twinbox-Arrival: body\r\n'));
    expect(taken.arrival).toBe('2024-01-01 T00:00:00Z');
    expect(taken.raw.toString()).toBe('Subject: a\r\n\r\nX-Twinbox-Arrival: body\r\n');
  });

  it('returns the message untouched without the header', () => {
    const raw = Buffer.from('Subject: a\r\n\r\nX-Twinbox-Arrival: in the body\r\n');
    expect(takeArrivalHeader(raw)).toEqual({ raw, arrival: undefined });
  });
});
