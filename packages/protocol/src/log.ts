/**
 * What the programs log through (the logger itself is @twinbox/log, on pino:
 * the protocol does no I/O). Levels by TWINBOX_LOG-style names; secrets are
 * never passed in.
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
