import { describe, expect, it } from 'vitest';
import { addressBytes, allowedBy, nonPublicKind, parseNetwork } from './addresses.js';

describe('push endpoint addresses (issue 20: hostile input)', () => {
  it('refuses every special-purpose range, IPv4 and IPv6, and IPv6 outside global unicast', () => {
    const refused: Record<string, string> = {
      '127.0.0.1': 'loopback',
      '127.255.255.254': 'loopback',
      '10.1.2.3': 'private',
      '172.16.0.1': 'private',
      '172.31.255.255': 'private',
      '192.168.1.1': 'private',
      '169.254.169.254': 'link-local',
      '100.64.0.1': 'shared',
      '0.0.0.0': 'this network',
      '192.0.2.1': 'documentation',
      '198.18.0.1': 'benchmarking',
      '224.0.0.1': 'multicast',
      '255.255.255.255': 'reserved',
      '::1': 'loopback',
      '::': 'unspecified',
      'fe80::1': 'link-local',
      'fc00::1': 'unique local',
      'fd12:3456::1': 'unique local',
      'ff02::1': 'multicast',
      '2001:db8::1': 'documentation',
      '::ffff:127.0.0.1': 'loopback',
      '::ffff:7f00:1': 'loopback',
      '::ffff:10.0.0.1': 'private',
      '64:ff9b::a9fe:a9fe': 'link-local',
      '2002:c0a8:0101::1': 'private',
      '::127.0.0.1': 'reserved',
      '2001::1': 'IETF',
      'fe80::1%eth0': 'zone',
    };
    for (const [address, kind] of Object.entries(refused)) expect(nonPublicKind(address), address).toContain(kind);
  });

  it('lets public addresses through', () => {
    for (const address of ['8.8.8.8', '142.250.74.46', '172.32.0.1', '100.128.0.1', '2a00:1450:4001:82a::200a', '2606:4700::6810:85e5', '::ffff:8.8.8.8', '64:ff9b::808:808']) {
      expect(nonPublicKind(address), address).toBeUndefined();
    }
    expect(nonPublicKind('push.example')).toBe('not an IP address');
  });

  it('parses addresses exactly, :: anywhere and a dotted tail', () => {
    expect([...addressBytes('::ffff:1.2.3.4')!]).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4]);
    expect([...addressBytes('1::')!]).toEqual([0, 1, ...new Array(14).fill(0)]);
    expect([...addressBytes('1:2:3:4:5:6:7:8')!].slice(-2)).toEqual([0, 8]);
    expect(addressBytes('1.2.3')).toBeUndefined();
    expect(addressBytes('01.2.3.4')).toBeUndefined();
  });

  it('allows only the networks an operator names; an IPv4-mapped address counts as its IPv4 one', () => {
    const networks = ['127.0.0.1', '10.20.0.0/16', 'fd00::/8'].map(parseNetwork);
    expect(allowedBy('127.0.0.1', networks)?.text).toBe('127.0.0.1');
    expect(allowedBy('127.0.0.2', networks)).toBeUndefined();
    expect(allowedBy('::ffff:127.0.0.1', networks)?.text).toBe('127.0.0.1');
    expect(allowedBy('10.20.255.1', networks)?.text).toBe('10.20.0.0/16');
    expect(allowedBy('10.21.0.1', networks)).toBeUndefined();
    expect(allowedBy('fd12::1', networks)?.text).toBe('fd00::/8');
    expect(allowedBy('::1', networks)).toBeUndefined();
    for (const bad of ['10.0.0.0/33', 'fd00::/129', 'example.com', '10.0.0.0/8/1', '10.0.0.0/x', '']) expect(() => parseNetwork(bad), bad).toThrow(/CIDR/);
  });
});
