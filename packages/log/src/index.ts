/**
 * The one logger of the Twinbox programs (issue 13): pino, writing to stderr.
 *
 * - JSON lines (`{"level":"info","time":"…","scope":"server","msg":"…",…}`),
 *   for journald, a log shipper or `jq`; on a terminal, pino-pretty's
 *   readable lines instead (TWINBOX_LOG_FORMAT=json|pretty decides when set).
 * - The level from TWINBOX_LOG (error|warn|info|debug; default info).
 * - Secrets never reach a line: fields named like a token, a password, a
 *   secret, a session or a cookie are replaced by "[redacted]" at any of the
 *   first levels of nesting — a second fence behind the rule that callers do
 *   not log them.
 * - Written synchronously: a process killed the next instant (the fault
 *   tests do it on purpose) has written what it logged.
 *
 * The programs see it through the protocol's Logger interface.
 */
import { parseLogLevel, type Logger } from '@twinbox/protocol';
import { createRequire } from 'node:module';
import { destination as pinoDestination, pino, stdTimeFunctions, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { PrettyOptions, PrettyStream } from 'pino-pretty';

const SECRET_KEYS = ['token', 'password', 'secret', 'triggerSecret', 'session', 'cookie', 'authorization', 'pass'];

/** pino's redact paths: the secret names at the top and in nested objects (pino paths need one level per `*`). */
export const REDACTED_PATHS = [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`), ...SECRET_KEYS.map((k) => `*.*.${k}`)];

function destination(): DestinationStream {
  const format = process.env.TWINBOX_LOG_FORMAT ?? (process.stderr.isTTY ? 'pretty' : 'json');
  if (format !== 'pretty') return pinoDestination({ dest: 2, sync: true });
  // Loaded only for a terminal: a service writing JSON never pays for it.
  const pretty = createRequire(import.meta.url)('pino-pretty') as (options: PrettyOptions) => PrettyStream;
  return pretty({ destination: 2, sync: true, colorize: process.stderr.isTTY, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', messageKey: 'msg' });
}

let root: PinoLogger | undefined;

function rootLogger(): PinoLogger {
  root ??= pino(
    {
      level: parseLogLevel(process.env.TWINBOX_LOG),
      base: { pid: process.pid },
      timestamp: stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    },
    destination(),
  );
  return root;
}

/** A logger for one part of a program ("server", "agent", …). */
export function createLogger(scope: string): Logger {
  const log = rootLogger().child({ scope });
  return {
    error: (message, fields) => log.error(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
    info: (message, fields) => log.info(fields ?? {}, message),
    debug: (message, fields) => log.debug(fields ?? {}, message),
  };
}
