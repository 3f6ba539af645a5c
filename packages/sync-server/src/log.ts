/**
 * Minimal structured logging to stderr: one line per event, `level scope message {fields}`.
 * Level from TWINBOX_LOG (error|warn|info|debug, default info). Secrets (tokens,
 * trigger keys) are never passed to it.
 */
const LEVELS = { error: 0, warn: 1, info: 2, debug: 3 } as const;
export type Level = keyof typeof LEVELS;

const threshold = LEVELS[(process.env.TWINBOX_LOG as Level | undefined) ?? 'info'] ?? LEVELS.info;

export interface Logger {
  error(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

export function createLogger(scope: string): Logger {
  const write = (level: Level) => (message: string, fields?: Record<string, unknown>) => {
    if (LEVELS[level] > threshold) return;
    const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    process.stderr.write(`${new Date().toISOString()} ${level} ${scope}: ${message}${extra}\n`);
  };
  return { error: write('error'), warn: write('warn'), info: write('info'), debug: write('debug') };
}
