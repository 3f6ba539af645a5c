import { describe, expect, it } from 'vitest';
import { uidSet } from './expunge.js';

describe('uidSet', () => {
  it('writes runs as ranges, in order, without duplicates', () => {
    expect(uidSet([5, 1, 2, 3, 9, 10, 3])).toBe('1:3,5,9:10');
    expect(uidSet([7])).toBe('7');
    expect(uidSet(Array.from({ length: 100_000 }, (_, i) => i + 1))).toBe('1:100000');
  });
});
