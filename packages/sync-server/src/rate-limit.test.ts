import { describe, expect, it } from 'vitest';
import { FailureLimiter, sourceKey } from './rate-limit.js';

describe('FailureLimiter', () => {
  it('refuses a key after the limit of failures in the window, and lets it in again later', async () => {
    const limiter = new FailureLimiter({ limit: 3, windowMs: 1000 });
    for (let t = 0; t < 3; t++) {
      expect(await limiter.allowed(['ip:1'], t)).toBe(true);
      await limiter.failed(['ip:1', 'account:a'], t);
    }
    expect(await limiter.allowed(['ip:1'], 10)).toBe(false);
    expect(await limiter.allowed(['ip:2', 'account:a'], 10)).toBe(false);
    expect(await limiter.allowed(['ip:2', 'account:b'], 10)).toBe(true);
    expect(await limiter.allowed(['ip:1'], 1001)).toBe(true);
  });
});

describe('sourceKey', () => {
  it('limits IPv4 by address and IPv6 by /64, however the address is written', () => {
    expect(sourceKey('192.0.2.7')).toBe('source:192.0.2.7');
    expect(sourceKey('::ffff:192.0.2.7')).toBe('source:192.0.2.7');
    expect(sourceKey('2001:db8:0:1::5')).toBe('source:2001:db8:0:1::/64');
    expect(sourceKey('2001:0DB8:0000:0001:aaaa:bbbb:cccc:dddd')).toBe('source:2001:db8:0:1::/64');
    expect(sourceKey('::1')).toBe('source:0:0:0:0::/64');
  });
});
