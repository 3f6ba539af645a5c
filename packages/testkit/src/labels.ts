/** Messages are named by label (docs/scenarios.md): the X-Scenario-Label header. */
import { headerBlockOf, parseHeaderFields } from '@twinbox/protocol';

export const LABEL_HEADER = 'x-scenario-label';

export function labelOfHeaders(headers: string): string | undefined {
  return parseHeaderFields(headers).get(LABEL_HEADER);
}

export function labelOfRaw(raw: Buffer): string | undefined {
  return labelOfHeaders(headerBlockOf(raw));
}
