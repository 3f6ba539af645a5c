/**
 * What each flag action means (docs/spec.md §4 actions, §6 flag merge), defined once
 * for both sides: the flag it sets and the value it sets it to, and the
 * action that sets a flag to a value.
 */
import type { FlagActionKind } from './messages.js';

export type FlagName = 'seen' | 'flagged';

export const FLAG_ACTIONS = {
  markRead: { flag: 'seen', value: true },
  markUnread: { flag: 'seen', value: false },
  flag: { flag: 'flagged', value: true },
  unflag: { flag: 'flagged', value: false },
} as const satisfies Record<FlagActionKind, { flag: FlagName; value: boolean }>;

export function isFlagAction(kind: string): kind is FlagActionKind {
  return Object.hasOwn(FLAG_ACTIONS, kind);
}

/** The action that sets `flag` to `value`. */
export function flagActionFor(flag: FlagName, value: boolean): FlagActionKind {
  if (flag === 'seen') return value ? 'markRead' : 'markUnread';
  return value ? 'flag' : 'unflag';
}

/** The actions that take a message's flags from `from` to `to` (none for a flag that is equal). */
export function flagActionsBetween(from: { seen: boolean; flagged: boolean }, to: { seen: boolean; flagged: boolean }): FlagActionKind[] {
  return (['seen', 'flagged'] as const).filter((flag) => from[flag] !== to[flag]).map((flag) => flagActionFor(flag, to[flag]));
}
