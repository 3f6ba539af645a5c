/**
 * The shape checks every validator of unknown input is made of (validate.ts,
 * request-validate.ts): each returns the typed value or throws Invalid, which
 * the validators turn into a TwinboxError at the edge.
 */
import { LIMITS } from './limits.js';

export type Obj = Record<string, unknown>;

export class Invalid extends Error {}

export function fail(what: string): never {
  throw new Invalid(what);
}

export function obj(value: unknown, what: string): Obj {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${what} must be an object`);
  return value as Obj;
}

export function int(o: Obj, key: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    fail(`${key} must be an integer in [${min}, ${max}]`);
  }
  return v;
}

export function optInt(o: Obj, key: string, min = 0): number | undefined {
  return o[key] === undefined ? undefined : int(o, key, min);
}

export function str(o: Obj, key: string, min = 1): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length < min || v.length > LIMITS.maxStringLength) {
    fail(`${key} must be a string of ${min}..${LIMITS.maxStringLength} characters`);
  }
  return v;
}

export function bool(o: Obj, key: string): boolean {
  const v = o[key];
  if (typeof v !== 'boolean') fail(`${key} must be a boolean`);
  return v;
}

export function oneOf<T extends string>(o: Obj, key: string, allowed: readonly T[]): T {
  const v = o[key];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    fail(`${key} must be one of ${allowed.join(', ')}`);
  }
  return v as T;
}

export function list<T>(o: Obj, key: string, item: (v: unknown) => T): T[] {
  const v = o[key];
  if (!Array.isArray(v) || v.length > LIMITS.maxListEntries) fail(`${key} must be a list of at most ${LIMITS.maxListEntries}`);
  return v.map(item);
}

/** A flag that is either absent or `true` (what says "yes" to an optional request). */
export function isTrue(o: Obj, key: string): true {
  if (o[key] !== true) fail(`${key} must be true when present`);
  return true;
}
