import { describe, expect, it } from 'vitest';
import { TwinboxError } from '@twinbox/protocol';
import { UsageError, parseCommandLine, wholeNumber } from './command-line.js';
import { errorLines, exitStatusOf } from './program.js';

const OPTIONS = { config: { type: 'string' }, json: { type: 'boolean' }, id: { type: 'string' }, retry: { type: 'string' } } as const;
const COMMANDS = { sync: ['config', 'json'], 'account add': ['config', 'id', 'json'], 'account list': ['config', 'json'] } as const;

function usageError(argv: string[]): UsageError {
  try {
    parseCommandLine(argv, OPTIONS, COMMANDS);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error('no usage error');
}

describe('the command line', () => {
  it('parses a command with its options', () => {
    expect(parseCommandLine(['account', 'add', '--config', 'c.json', '--id=alice'], OPTIONS, COMMANDS)).toMatchObject({ command: 'account add', values: { config: 'c.json', id: 'alice' }, help: false });
    expect(parseCommandLine(['--version'], OPTIONS, COMMANDS)).toMatchObject({ command: undefined, version: true });
    expect(parseCommandLine(['sync', '-h'], OPTIONS, COMMANDS)).toMatchObject({ command: 'sync', help: true });
  });

  it('says in one line what is wrong, with the nearest name', () => {
    expect(usageError(['sync', '--jsn']).message).toBe('unknown option --jsn (did you mean --json?)');
    expect(usageError(['sync', '--config']).message).toBe('--config needs a value');
    expect(usageError(['sync', '--config', '--json']).message).toBe('--config needs a value (it is followed by another option)');
    expect(usageError(['sync', '--json=yes']).message).toBe('--json takes no value');
    expect(usageError(['sync', '--retry', '3']).message).toBe('--retry is not an option of sync');
    expect(usageError(['snyc']).message).toBe('unknown command "snyc" (did you mean "sync"?)');
    expect(usageError(['account']).message).toBe('account needs one of: add, list');
    expect(usageError(['sync', 'now']).message).toBe('unexpected argument "now" after sync');
    expect(() => wholeNumber('5x', 'window', 1, 10)).toThrow('--window must be a whole number from 1 to 10, not "5x"');
  });

  it('prints a usage error as one line and where the help is, exit 64; other errors with their code', () => {
    const err = usageError(['sync', '--jsn']);
    expect(errorLines('twinbox-agent', err)).toEqual(['twinbox-agent: unknown option --jsn (did you mean --json?)', 'twinbox-agent: see twinbox-agent sync --help']);
    expect(exitStatusOf(err)).toBe(64);
    const config = new TwinboxError('CONFIG', 'a\nb');
    expect(errorLines('twinbox-server', config)).toEqual(['twinbox-server: a [CONFIG]', 'twinbox-server: b [CONFIG]']);
    expect(exitStatusOf(config)).toBe(1);
    expect(exitStatusOf(new TwinboxError('CONNECTION_LOST'))).toBe(75);
  });
});
