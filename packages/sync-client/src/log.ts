/** The programs' one logger (@twinbox/log: pino, JSON lines or pretty, secrets redacted), as this package uses it. */
export { createLogger } from '@twinbox/log';
export type { Logger } from '@twinbox/protocol';
