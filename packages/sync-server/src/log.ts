import { createLogger as create, parseLogLevel, type Logger } from '@twinbox/protocol';

export type { Logger };

/** A logger writing to stderr at the level of TWINBOX_LOG (error|warn|info|debug). */
export function createLogger(scope: string): Logger {
  return create(scope, parseLogLevel(process.env.TWINBOX_LOG), (line) => process.stderr.write(line));
}
