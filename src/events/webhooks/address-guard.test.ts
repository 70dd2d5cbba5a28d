import { describe, expect, it } from 'vitest';
import { blockedCategory, parseAllowList, refusalFor } from './address-guard.js';

describe('which addresses a webhook may reach', () => {
  it('names the reason for every refused range, IPv4 and IPv6', () => {
    const cases: [string, string][] = [
      ['127.0.0.1', 'loopback'],
      ['127.255.0.9', 'loopback'],
      ['::1', 'loopback'],
      ['10.1.2.3', 'private'],
      ['172.16.0.1', 'private'],
      ['172.31.255.255', 'private'],
      ['192.168.1.1', 'private'],
      ['fc00::1', 'private'],
      ['fd12:3456::1', 'private'],
      ['169.254.169.254', 'cloud metadata'],
      ['fd00:ec2::254', 'cloud metadata'],
      ['169.254.1.1', 'link-local'],
      ['fe80::1', 'link-local'],
      ['0.0.0.0', 'unspecified'],
      ['::', 'unspecified'],
      ['100.64.0.1', 'carrier-grade NAT'],
      ['100.127.255.254', 'carrier-grade NAT'],
      ['224.0.0.1', 'multicast'],
      ['ff02::1', 'multicast'],
      ['255.255.255.255', 'reserved'],
      // IPv4 hidden in IPv6 is judged as the IPv4 address it reaches.
      ['::ffff:127.0.0.1', 'loopback'],
      ['::ffff:a9fe:a9fe', 'cloud metadata'],
      ['64:ff9b::10.0.0.1', 'private'],
      // Every other spelling of IPv4 inside IPv6 (issue 16): translated, compatible, written out, 6to4.
      ['::ffff:0:7f00:1', 'loopback'],
      ['::ffff:0:127.0.0.1', 'loopback'],
      ['::127.0.0.1', 'loopback'],
      ['::7f00:1', 'loopback'],
      ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
      ['0000:0000:0000:0000:0000:FFFF:7F00:0001', 'loopback'],
      ['::ffff:0:a9fe:a9fe', 'cloud metadata'],
      ['::169.254.169.254', 'cloud metadata'],
      ['::a00:1', 'private'],
      ['64:ff9b:1::c0a8:101', 'private'],
      ['2002:7f00:1::', 'loopback'],
      ['::2', 'unspecified'],
    ];
    for (const [address, category] of cases) expect(blockedCategory(address), address).toBe(category);
  });

  it('lets public addresses through', () => {
    for (const a of [
      '93.184.216.34',
      '8.8.8.8',
      '172.32.0.1',
      '100.128.0.1',
      '2606:4700::1111',
      '::ffff:8.8.8.8',
      '::ffff:0:808:808',
      '::8.8.8.8',
      '2002:808:808::1',
    ])
      expect(blockedCategory(a), a).toBeUndefined();
  });

  it('an allow-list of addresses, ranges and host names exempts exactly what it names', () => {
    const allow = parseAllowList(['127.0.0.1', '10.20.0.0/16', 'hooks.internal', 'fd00::/8']);
    expect(refusalFor(allow, 'x', '127.0.0.1')).toBeUndefined();
    expect(refusalFor(allow, 'x', '::ffff:127.0.0.1')).toBeUndefined();
    expect(refusalFor(allow, 'x', '127.0.0.2')).toMatch(/loopback/);
    expect(refusalFor(allow, 'x', '10.20.9.9')).toBeUndefined();
    expect(refusalFor(allow, 'x', '10.21.0.1')).toMatch(/10\.21\.0\.1 is a private address/);
    expect(refusalFor(allow, 'HOOKS.internal', '192.168.0.7')).toBeUndefined();
    expect(refusalFor(allow, 'other.internal', '192.168.0.7')).toMatch(/private/);
    expect(refusalFor(allow, 'x', 'fd00:ec2::254')).toBeUndefined();
    expect(refusalFor(parseAllowList([]), 'x', '169.254.169.254')).toMatch(
      /cloud metadata.*SEXTANT_WEBHOOK_ALLOW/,
    );
  });

  it('a malformed allow-list entry is an error naming the setting', () => {
    expect(() => parseAllowList(['10.0.0.0/33'])).toThrow(/SEXTANT_WEBHOOK_ALLOW: '10.0.0.0\/33'/);
    expect(() => parseAllowList(['http://x'])).toThrow(/SEXTANT_WEBHOOK_ALLOW/);
  });
});
