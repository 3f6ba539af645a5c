/**
 * One log line format for both sides: `time level scope: message {fields}`.
 * The protocol does no I/O, so the caller passes the sink (stderr in both
 * programs). Level from TWINBOX_LOG-style names; secrets are never passed in.
 */
const LEVELS = { error: 0, warn: 1, info: 2, debug: 3 } as const;
export type LogLevel = keyof typeof LEVELS;

export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

export function parseLogLevel(value: string | undefined): LogLevel {
  return value !== undefined && Object.hasOwn(LEVELS, value) ? (value as LogLevel) : 'info';
}

export function createLogger(scope: string, level: LogLevel, sink: (line: string) => void): Logger {
  const threshold = LEVELS[level];
  const write = (at: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    if (LEVELS[at] > threshold) return;
    const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    sink(`${new Date().toISOString()} ${at} ${scope}: ${message}${extra}\n`);
  };
  return { error: write('error'), warn: write('warn'), info: write('info'), debug: write('debug') };
}
