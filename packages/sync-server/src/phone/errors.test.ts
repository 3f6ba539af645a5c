import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PHONE_ERRORS, PhoneError, type PhoneErrorCode } from './errors.js';

describe('the phone side\'s error codes', () => {
  it('every code is listed in the README with its HTTP status', () => {
    const readme = readFileSync(join(import.meta.dirname, '../../../../README.md'), 'utf8');
    const listed = readme.slice(readme.indexOf('Errors are `{ "error": { "code", "message" } }`'));
    for (const [code, { status }] of Object.entries(PHONE_ERRORS)) expect(listed).toMatch(new RegExp(`\`${code}\` ${status}\\b`));
  });

  it('a PhoneError carries its code\'s status and retry flag; anything else is INTERNAL with the error as its cause', () => {
    const error = new PhoneError('IN_PROGRESS');
    expect([error.status, error.retryable, error.remembered, error.message]).toEqual([409, true, false, PHONE_ERRORS.IN_PROGRESS.text]);
    expect(new PhoneError('SEND_FAILED', 'refused').remembered).toBe(true);
    const cause = new Error('disk full');
    const internal = PhoneError.of(cause);
    expect([internal.code, internal.status, internal.cause]).toEqual(['INTERNAL' satisfies PhoneErrorCode, 500, cause]);
    expect(PhoneError.of(error)).toBe(error);
  });
});
