/**
 * Evaluates an `expect` step against the real state of both mailboxes and
 * explains every difference in words a person can act on: the expected and
 * actual lists side by side, then which labels are missing, extra or out of
 * order. Besides what the step lists, every expect also checks that no label
 * the scenario never created (a duplicate, a leaked trigger) and no label
 * twice shows up on either side.
 */
import { FOLDERS, labelOfRaw, windowInvariantProblems, type TwinboxSystem } from '@twinbox/testkit';
import type { Expectation, ListKey } from './model.js';

const PHONE_FOLDERS = ['inbox', 'trash', 'sent', 'outbox'] as const;

export function sideBySide(title: string, expected: string[], actual: string[]): string[] {
  const width = Math.max(8, ...expected.map((l) => l.length)) + 2;
  const out = [`${title}:`, `      ${'expected'.padEnd(width)}actual`];
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    const e = expected[i] ?? '';
    const a = actual[i] ?? '';
    out.push(`    ${e === a ? ' ' : '✗'} ${e.padEnd(width)}${a}`);
  }
  const missing = expected.filter((l) => !actual.includes(l));
  const extra = actual.filter((l) => !expected.includes(l));
  const commonE = expected.filter((l) => actual.includes(l));
  const commonA = actual.filter((l) => expected.includes(l));
  const outOfOrder = commonE.filter((l, i) => commonA[i] !== l);
  if (missing.length) out.push(`    missing: ${missing.join(', ')}`);
  if (extra.length) out.push(`    extra: ${extra.join(', ')}`);
  if (outOfOrder.length) out.push(`    out of order: ${outOfOrder.join(', ')}`);
  return out;
}

async function actualList(system: TwinboxSystem, key: ListKey, unreadFirst: boolean): Promise<string[]> {
  switch (key) {
    case 'desktop.inbox':
      return system.desktop.labels('INBOX', unreadFirst);
    case 'desktop.trash':
      return system.desktop.labels('Trash');
    case 'desktop.sent':
      return system.desktop.labels('Sent');
    default:
      return system.phoneLabels(key.slice('phone.'.length) as (typeof PHONE_FOLDERS)[number]);
  }
}

/** Flag state of a label on each side where it is (desktop: any folder; phone: Inbox or Trash). */
async function flagsOf(system: TwinboxSystem, label: string): Promise<{ desktop?: { seen: boolean; flagged: boolean }; phone?: { seen: boolean; flagged: boolean } }> {
  const found: { desktop?: { seen: boolean; flagged: boolean }; phone?: { seen: boolean; flagged: boolean } } = {};
  for (const folder of FOLDERS) {
    const m = (await system.desktop.list(folder)).find((x) => x.label === label);
    if (m) found.desktop = m;
  }
  const p = [...(await system.phoneMessages('inbox')), ...(await system.phoneMessages('trash'))].find((x) => x.label === label);
  if (p) found.phone = p;
  return found;
}

/** Unknown labels and labels present twice on one side. */
async function strayLabels(system: TwinboxSystem, created: ReadonlySet<string>): Promise<string[]> {
  const problems: string[] = [];
  const desktop: string[] = [];
  for (const folder of FOLDERS) desktop.push(...(await system.desktop.labels(folder)));
  const phone: string[] = [];
  for (const folder of PHONE_FOLDERS) phone.push(...(await system.phoneLabels(folder)));
  for (const [side, labels] of [['desktop', desktop], ['phone', phone]] as const) {
    const seen = new Set<string>();
    for (const label of labels) {
      if (!created.has(label)) problems.push(`${side}: message "${label}" was never created by this scenario`);
      else if (seen.has(label)) problems.push(`${side}: message "${label}" is there twice`);
      seen.add(label);
    }
  }
  return problems;
}

export interface CheckContext {
  system: TwinboxSystem;
  window: number;
  unreadFirst: boolean;
  created: ReadonlySet<string>;
}

/** Every failed check as printable lines; empty when the expectation holds. */
export async function checkExpectation(ctx: CheckContext, expectation: Expectation): Promise<string[]> {
  const { system } = ctx;
  const failures: string[] = [];
  for (const [key, expected] of Object.entries(expectation.lists) as [ListKey, string[]][]) {
    const actual = await actualList(system, key, ctx.unreadFirst);
    if (actual.join('\n') !== expected.join('\n')) failures.push(...sideBySide(key, expected, actual));
  }
  for (const flag of ['seen', 'flagged'] as const) {
    for (const [label, want] of Object.entries(expectation[flag] ?? {})) {
      const at = await flagsOf(system, label);
      if (!at.desktop && !at.phone) failures.push(`${flag}.${label}: the message is on neither side`);
      for (const side of ['desktop', 'phone'] as const) {
        const state = at[side];
        if (state && state[flag] !== want) failures.push(`${flag}.${label}: expected ${want} on the ${side}, it is ${state[flag]}`);
      }
    }
  }
  if (expectation.smtpDelivered) {
    const actual = system.smtp.received.map((m) => labelOfRaw(m.raw) ?? '(unlabeled)');
    if (actual.join('\n') !== expectation.smtpDelivered.join('\n')) failures.push(...sideBySide('smtpDelivered', expectation.smtpDelivered, actual));
  }
  if (expectation.window) {
    for (const problem of await windowInvariantProblems(system, ctx.window, ctx.unreadFirst)) failures.push(`window: ${problem}`);
  }
  failures.push(...(await strayLabels(system, ctx.created)));
  return failures;
}
