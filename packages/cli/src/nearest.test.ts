import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, nearestName } from './nearest.js';

describe('nearest name', () => {
  it('counts a swap of two neighbouring letters as one edit', () => {
    expect(editDistance('scheduel', 'schedule')).toBe(1);
    expect(editDistance('trashDay', 'trashDays')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
  });

  it('finds the misspelled config keys and options of the README', () => {
    expect(nearestName('scheduel', ['server', 'account', 'schedule', 'database'])).toBe('schedule');
    expect(nearestName('trashDay', ['trashDays', 'sentDays', 'expireDesktopTrash'])).toBe('trashDays');
    expect(didYouMean('jsn', ['json', 'config'], (n) => `--${n}`)).toBe(' (did you mean --json?)');
  });

  it('suggests nothing for a word that is no slip', () => {
    expect(nearestName('color', ['database', 'listen', 'tls'])).toBeUndefined();
    expect(didYouMean('x', ['json'])).toBe('');
  });
});
