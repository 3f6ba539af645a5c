/**
 * The command line of both programs, one style (README "Configuration", exit
 * statuses): `PROGRAM COMMAND [SUBCOMMAND] --option value …`, parsed by
 * node:util parseArgs in strict mode. Every mistake — an unknown command or
 * option (with the nearest known one), a missing value, an option the
 * command does not take, a stray argument — is one `UsageError` line, which
 * the program shell prints with "see … --help" and exit status 64.
 *
 * Each command lists the options it takes; `--help`/`-h` and `--version` are
 * taken by every command.
 */
import { parseArgs } from 'node:util';
import { didYouMean } from './nearest.js';

export type OptionSpecs = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

export type ParsedValues<O extends OptionSpecs> = ReturnType<typeof parseArgs<{ options: O; allowPositionals: true }>>['values'];

/** A mistake on the command line: exit 64 and a pointer to --help (program.ts). */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose help to point at, when known. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface CommandLine<O extends OptionSpecs> {
  /** The command named (`sync`, `account add`), or undefined for the bare program. */
  command: string | undefined;
  values: ParsedValues<O>;
  help: boolean;
  version: boolean;
}

const SHELL = { help: { type: 'boolean', short: 'h' }, version: { type: 'boolean' } } as const;

/** The option a parseArgs error message names ("Unknown option '--foo'", "Option '--config <value>' argument missing"). */
function optionIn(message: string): string {
  return /'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? '';
}

/** Parse `argv` against the options and the commands (name → the options it takes). */
export function parseCommandLine<O extends OptionSpecs>(argv: readonly string[], options: O, commands: Record<string, readonly (keyof O & string)[]>): CommandLine<O> {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  const all = { ...options, ...SHELL };
  try {
    parsed = parseArgs({ args: [...argv], options: all, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message = (err as Error).message;
    const option = optionIn(message);
    const firstWord = argv.find((a) => !a.startsWith('-'));
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const name = option.replace(/^-+/, '');
      throw new UsageError(`unknown option ${option}${option.startsWith('--') ? didYouMean(name, Object.keys(all), (n) => `--${n}`) : ''}`, firstWord);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      if (/does not take an argument/.test(message)) throw new UsageError(`${option} takes no value`, firstWord);
      throw new UsageError(`${option} needs a value${/ambiguous/.test(message) ? ' (it is followed by another option)' : ''}`, firstWord);
    }
    throw new UsageError(message.split('\n')[0]!, firstWord);
  }
  const { values, positionals } = parsed;
  const help = values.help === true;
  const version = values.version === true;
  if (positionals.length === 0) return { command: undefined, values: values as ParsedValues<O>, help, version };
  const command = resolveCommand(positionals, Object.keys(commands));
  const allowed = new Set<string>([...commands[command]!, 'help', 'version']);
  for (const name of Object.keys(values)) {
    if (!allowed.has(name)) throw new UsageError(`--${name} is not an option of ${command}`, command);
  }
  return { command, values: values as ParsedValues<O>, help, version };
}

/** The longest command the positionals spell (`account add`), or a UsageError saying what is wrong. */
function resolveCommand(positionals: string[], names: string[]): string {
  for (let n = positionals.length; n > 0; n--) {
    const candidate = positionals.slice(0, n).join(' ');
    if (!names.includes(candidate)) continue;
    if (n < positionals.length) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[n])} after ${candidate}`, candidate);
    return candidate;
  }
  const group = names.filter((c) => c.startsWith(`${positionals[0]} `));
  if (group.length > 0 && positionals.length === 1) {
    throw new UsageError(`${positionals[0]} needs one of: ${group.map((c) => c.slice(positionals[0]!.length + 1)).join(', ')}`, positionals[0]);
  }
  const word = positionals.join(' ');
  throw new UsageError(`unknown command ${JSON.stringify(word)}${didYouMean(word, names, (n) => JSON.stringify(n))}`);
}

/** A required string option, or a UsageError naming it. */
export function required<V extends object>(values: V, name: keyof V & string, command?: string): string {
  const value: unknown = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`, command);
  return value;
}

/** A whole number option within bounds, or a UsageError. */
export function wholeNumber(value: string, name: string, min: number, max: number, command?: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(value)}`, command);
  return n;
}
