/**
 * The program shell of `twinbox-agent` and `twinbox-server`: what happens
 * around a command, the same in both (README "Configuration", exit statuses).
 *
 *   exit 0   done
 *   exit 1   failed, not worth retrying as it is (a bad config: CONFIG; a refused token, a pin mismatch, …)
 *   exit 64  usage error: one line, then where the help is
 *   exit 75  failed, worth retrying later (the error's code is retryable)
 *
 * An error prints one line per line of its message, each as
 * `PROGRAM: LINE [CODE]` (a config with three mistakes: three lines).
 *
 * Signals: Node opens its inspector on SIGUSR1 unless the process handles
 * it — anyone who may signal the process could then run code inside it. Every
 * Twinbox program handles SIGUSR1 (ignores it, saying so) from its first line.
 */
import { readFileSync } from 'node:fs';
import { TwinboxError } from '@twinbox/protocol';
import { UsageError } from './command-line.js';

export const EXIT = { ok: 0, failed: 1, usage: 64, notBuilt: 69, retry: 75 } as const;

/** The exit status for an error (see the table above). */
export function exitStatusOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof TwinboxError && err.retryable) return EXIT.retry;
  return EXIT.failed;
}

/** The lines `PROGRAM: … [CODE]` an error prints on stderr. */
export function errorLines(program: string, err: unknown): string[] {
  if (err instanceof UsageError) {
    const help = err.command ? `${program} ${err.command} --help` : `${program} --help`;
    return [`${program}: ${err.message}`, `${program}: see ${help}`];
  }
  const code = err instanceof TwinboxError ? ` [${err.code}${err.retryable ? ', retryable' : ''}]` : '';
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n').map((line) => `${program}: ${line}${code}`);
}

/** Handle SIGUSR1 (and leave no signal Node would answer by opening its inspector): `onSignal` hears it. */
export function guardSignals(onSignal: (signal: 'SIGUSR1') => void): void {
  process.on('SIGUSR1', () => onSignal('SIGUSR1'));
}

/** The `version` field of a package.json beside a program (`new URL('../package.json', import.meta.url)`). */
export function packageVersion(packageJson: URL): string {
  return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
}

/**
 * Run a program's main function: errors become their lines and exit status;
 * the process ends when main has finished and nothing else keeps it alive
 * (a server keeps running), with the status main set.
 */
export function runProgram(program: string, main: () => Promise<void>, onSignal?: (signal: 'SIGUSR1') => void): void {
  guardSignals(onSignal ?? ((signal) => process.stderr.write(`${program}: ${signal} ignored\n`)));
  main().catch((err: unknown) => {
    for (const line of errorLines(program, err)) process.stderr.write(`${line}\n`);
    process.exit(exitStatusOf(err));
  });
}

/** Epoch milliseconds as ISO 8601 (UTC), the one form of a time in the programs' JSON; null stays null. */
export function isoTime(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}
