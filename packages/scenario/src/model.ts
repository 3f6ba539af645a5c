/**
 * A scenario file, parsed (the format is docs/scenarios.md; it is a
 * contract with people outside the team, so nothing here widens or narrows
 * it). Every element keeps the line it came from, for messages.
 */
export interface MessageSpec {
  label: string;
  /** Arrival time on the side it is created on; absent: "now", later than everything before. */
  date?: Date;
  from?: string;
  to?: string;
  subject?: string;
  /** Bytes of body to generate. */
  size?: number;
  seen?: boolean;
  flagged?: boolean;
  line: number;
}

export const FLAG_OPS = ['read', 'unread', 'flag', 'unflag'] as const;
export const MOVE_OPS = ['trash', 'recover', 'destroy'] as const;
export type LabelOp = (typeof FLAG_OPS)[number] | (typeof MOVE_OPS)[number];
export const LABEL_OPS: readonly LabelOp[] = [...FLAG_OPS, ...MOVE_OPS];

export interface SendSpec extends MessageSpec {
  viaSync: boolean;
}

export type Side = 'desktop' | 'phone';

export type Step = { line: number } & (
  | { kind: 'sync' }
  | { kind: 'deliver'; side: Side; message: MessageSpec }
  | { kind: 'labelOp'; side: Side; op: LabelOp; label: string }
  | { kind: 'send'; message: SendSpec }
  | { kind: 'syncNow' }
  | { kind: 'waitForSync'; timeoutMs: number }
  | { kind: 'expect'; expectation: Expectation }
  | { kind: 'crash'; who: 'agent' | 'server'; at: 'random' | number }
  | { kind: 'restartImap' }
);

export const LIST_KEYS = ['desktop.inbox', 'desktop.trash', 'desktop.sent', 'phone.inbox', 'phone.trash', 'phone.sent', 'phone.outbox'] as const;
export type ListKey = (typeof LIST_KEYS)[number];

export interface Expectation {
  lists: Partial<Record<ListKey, string[]>>;
  seen?: Record<string, boolean>;
  flagged?: Record<string, boolean>;
  smtpDelivered?: string[];
  window?: 'ok';
}

export interface Scenario {
  file: string;
  name: string;
  window: number;
  options: { unreadFirst: boolean; conflictPolicy: 'desktop' | 'phone' };
  desktop: { inbox: MessageSpec[]; trash: MessageSpec[]; sent: MessageSpec[] };
  phone: { inbox: MessageSpec[] };
  steps: Step[];
}

/** A scenario file that does not follow the format: exit status 2. */
export class ScenarioFileError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${reason}`);
    this.name = 'ScenarioFileError';
  }
}
