/** The scenario format is a contract: every deviation is an error with its line (exit status 2). */
import { describe, expect, it } from 'vitest';
import { ScenarioFileError, parseScenario } from '@twinbox/scenario';

const head = 'name: t\nwindow: 3\n';

function errorOf(text: string): { line: number; reason: string } {
  try {
    parseScenario('x.yaml', text);
  } catch (err) {
    if (err instanceof ScenarioFileError) return { line: err.line, reason: err.reason };
    throw err;
  }
  throw new Error('parsed without error');
}

describe('scenario file errors', () => {
  it.each([
    ['not YAML (reported where the parser noticed it)', 'name: [unclosed\n', 2, /not valid YAML/],
    ['missing name', 'window: 3\nsteps: [sync]\n', 1, /"name" is required/],
    ['window 0', 'name: t\nwindow: 0\nsteps: [sync]\n', 2, /window must be an integer ≥ 1/],
    ['unknown top-level key', `${head}colour: red\nsteps: [sync]\n`, 3, /unknown key "colour"/],
    ['unknown step', `${head}steps:\n  - sleep\n`, 4, /unknown step "sleep"/],
    ['unknown desktop operation', `${head}steps:\n  - desktop: { archive: X }\n`, 4, /unknown key "archive"/],
    ['phone-only operation on the desktop', `${head}steps:\n  - desktop: { syncNow: true }\n`, 4, /unknown key "syncNow"/],
    ['label never created', `${head}steps:\n  - sync\n  - phone: { read: C9 }\n`, 5, /label "C9" was never created/],
    ['label created twice', `${head}desktop:\n  inbox:\n    - { label: A }\nsteps:\n  - desktop: { deliver: { label: A } }\n`, 7, /created already \(line 5\)/],
    ['bad label characters', `${head}desktop:\n  inbox:\n    - { label: "a b" }\nsteps: [sync]\n`, 5, /may hold only letters/],
    ['bad date', `${head}desktop:\n  inbox:\n    - { label: A, date: yesterday }\nsteps: [sync]\n`, 5, /must be a date/],
    ['unknown message key', `${head}desktop:\n  inbox:\n    - { label: A, colour: red }\nsteps: [sync]\n`, 5, /unknown key "colour"/],
    ['unknown expect key', `${head}steps:\n  - expect: { phone.archive: [] }\n`, 4, /unknown key "phone.archive"/],
    ['expect of an unknown label', `${head}steps:\n  - expect: { seen: { Z: true } }\n`, 4, /label "Z" was never created/],
    ['window value other than ok', `${head}steps:\n  - expect: { window: fine }\n`, 4, /only value is "ok"/],
    ['crash of a third party', `${head}steps:\n  - crash: { who: dovecot }\n`, 4, /agent or server/],
    ['crash at frame 0', `${head}steps:\n  - crash: { who: agent, at: 0 }\n`, 4, /frame number/],
    ['two keys in one step', `${head}steps:\n  - { sync: true, expect: { window: ok } }\n`, 4, /exactly one key/],
    ['empty steps', `${head}steps: []\n`, 3, /must not be empty/],
    ['duplicate key', `${head}window: 4\nsteps: [sync]\n`, 3, /not valid YAML/],
  ])('%s', (_name, text, line, reason) => {
    const error = errorOf(text);
    expect(error.reason).toMatch(reason);
    expect(error.line).toBe(line);
  });

  it('accepts every construct of the format (docs/scenarios.md)', () => {
    const s = parseScenario(
      'ok.yaml',
      `name: all
window: 6
options: { unreadFirst: false, conflictPolicy: desktop }
desktop:
  inbox:
    - { label: C1, date: 2024-03-01T10:00:00Z }
    - { label: C2, date: 2024-03-01T09:00:00Z, seen: true, flagged: true, size: 20000 }
  trash: []
  sent: []
phone:
  inbox:
    - { label: P21, date: 2024-03-01T09:30:00Z }
steps:
  - sync
  - desktop: { deliver: { label: C3, from: a@x, to: b@y, subject: hi } }
  - desktop: { read: C1 }
  - phone: { flag: P21 }
  - phone: { send: { label: O1, to: x@y, viaSync: true } }
  - phone: { syncNow: true }
  - waitForSync: { timeoutMs: 5000 }
  - crash: { who: agent, during: sync, at: random }
  - crash: { who: server, during: sync, at: 3 }
  - restartImap: true
  - expect:
      desktop.inbox: [C2, P21, C3]
      desktop.trash: [C1]
      desktop.sent: [O1]
      phone.inbox: [C2, P21, C3]
      phone.trash: [C1]
      phone.sent: [O1]
      phone.outbox: []
      seen: { C2: true, C3: false }
      flagged: { C2: true }
      smtpDelivered: [O1]
      window: ok
`,
    );
    expect(s.steps.map((x) => x.kind)).toEqual(['sync', 'deliver', 'labelOp', 'labelOp', 'send', 'syncNow', 'waitForSync', 'crash', 'crash', 'restartImap', 'expect']);
    expect(s.desktop.inbox[1]).toMatchObject({ label: 'C2', seen: true, flagged: true, size: 20000 });
  });
});
