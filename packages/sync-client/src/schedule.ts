/**
 * The background agent's schedule (docs/spec.md §9): a cron expression
 * (node-cron, with seconds optional) or "off". Checked by `run` before it
 * starts and by `doctor` and `install-service`, so a schedule `run` would
 * refuse is named at once; node-cron is loaded only by them, never by a
 * one-off `sync` (its start-up time).
 */
import { TwinboxError } from '@twinbox/protocol';

export const DEFAULT_SCHEDULE = '*/5 * * * *';

/** The schedule, or a CONFIG error naming where it came from. */
export async function checkSchedule(schedule: string, where: string): Promise<string> {
  if (schedule === 'off') return schedule;
  const { default: cron } = await import('node-cron');
  if (!cron.validate(schedule)) throw new TwinboxError('CONFIG', `${where}: schedule ${JSON.stringify(schedule)} is not a cron expression (like "*/5 * * * *") or "off"`);
  return schedule;
}
