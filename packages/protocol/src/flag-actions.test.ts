import { describe, expect, it } from 'vitest';
import { FLAG_ACTIONS, flagActionFor, flagActionsBetween, isFlagAction } from './flag-actions.js';

describe('flag actions', () => {
  it('each action and the flag value it sets are one table, read both ways', () => {
    for (const [kind, { flag, value }] of Object.entries(FLAG_ACTIONS)) expect(flagActionFor(flag, value)).toBe(kind);
    expect(isFlagAction('markRead')).toBe(true);
    expect(isFlagAction('trash')).toBe(false);
  });
  it('the actions between two flag states', () => {
    expect(flagActionsBetween({ seen: false, flagged: false }, { seen: true, flagged: false })).toEqual(['markRead']);
    expect(flagActionsBetween({ seen: true, flagged: false }, { seen: false, flagged: true })).toEqual(['markUnread', 'flag']);
    expect(flagActionsBetween({ seen: true, flagged: true }, { seen: true, flagged: true })).toEqual([]);
  });
});
