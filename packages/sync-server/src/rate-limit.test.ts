import { describe, expect, it } from 'vitest';
import { FailureLimiter } from './rate-limit.js';

describe('FailureLimiter', () => {
  it('refuses a key after the limit of failures in the window, and lets it in again later', () => {
    const limiter = new FailureLimiter({ limit: 3, windowMs: 1000 });
    for (let t = 0; t < 3; t++) {
      expect(limiter.allowed(['ip:1'], t)).toBe(true);
      limiter.failed(['ip:1', 'account:a'], t);
    }
    expect(limiter.allowed(['ip:1'], 10)).toBe(false);
    expect(limiter.allowed(['ip:2', 'account:a'], 10)).toBe(false);
    expect(limiter.allowed(['ip:2', 'account:b'], 10)).toBe(true);
    expect(limiter.allowed(['ip:1'], 1001)).toBe(true);
  });
});
