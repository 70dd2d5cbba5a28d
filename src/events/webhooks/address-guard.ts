import net from 'node:net';
import { ValidationError } from '../../core/errors.js';

/*
 * Which addresses a webhook may reach. Targets are named by users, so without this a webhook would be a
 * way to make the server call its own admin ports, the cloud metadata service or the private network.
 * The check runs on every address a name resolves to and on the address actually connected to.
 */

type Family = 'ipv4' | 'ipv6';
type Range = [string, number, Family];

/** Refused ranges, by the reason given; the first category that matches names the refusal. */
const CATEGORIES: [string, Range[]][] = [
  [
    'cloud metadata',
    [
      ['169.254.169.254', 32, 'ipv4'],
      ['fd00:ec2::254', 128, 'ipv6'],
    ],
  ],
  [
    'unspecified',
    [
      ['0.0.0.0', 8, 'ipv4'],
      ['::', 128, 'ipv6'],
    ],
  ],
  [
    'loopback',
    [
      ['127.0.0.0', 8, 'ipv4'],
      ['::1', 128, 'ipv6'],
    ],
  ],
  [
    'private',
    [
      ['10.0.0.0', 8, 'ipv4'],
      ['172.16.0.0', 12, 'ipv4'],
      ['192.168.0.0', 16, 'ipv4'],
      ['fc00::', 7, 'ipv6'],
      ['fec0::', 10, 'ipv6'],
    ],
  ],
  [
    'link-local',
    [
      ['169.254.0.0', 16, 'ipv4'],
      ['fe80::', 10, 'ipv6'],
    ],
  ],
  ['carrier-grade NAT', [['100.64.0.0', 10, 'ipv4']]],
  [
    'multicast',
    [
      ['224.0.0.0', 4, 'ipv4'],
      ['ff00::', 8, 'ipv6'],
    ],
  ],
  ['reserved', [['240.0.0.0', 4, 'ipv4']]],
];

const BLOCKS: [string, net.BlockList][] = CATEGORIES.map(([label, ranges]) => {
  const list = new net.BlockList();
  for (const [net_, prefix, family] of ranges) list.addSubnet(net_, prefix, family);
  return [label, list];
});

/**
 * IPv6 forms that carry an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::a.b.c.d): the
 * packet ends up at the IPv4 address, so that is the one to judge.
 */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const m = /^(?:::ffff:|64:ff9b::)(.+)$/.exec(lower);
  if (!m) return undefined;
  const rest = m[1]!;
  if (net.isIPv4(rest)) return rest;
  const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(rest);
  if (!hex) return undefined;
  const hi = Number.parseInt(hex[1]!, 16);
  const lo = Number.parseInt(hex[2]!, 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

/** Why an address may not be reached ('loopback', 'private', ...), or undefined when it is public. */
export function blockedCategory(address: string): string | undefined {
  const v4 = embeddedIpv4(address);
  const family = v4 ? 'ipv4' : net.isIPv4(address) ? 'ipv4' : net.isIPv6(address) ? 'ipv6' : undefined;
  if (!family) return 'not an IP address';
  const addr = v4 ?? address;
  for (const [label, list] of BLOCKS) if (list.check(addr, family)) return label;
  return undefined;
}

/** What an operator allowed despite the rules: addresses / CIDR ranges, and host names. */
export interface AllowList {
  addresses: net.BlockList;
  hosts: Set<string>;
  isEmpty: boolean;
}

/**
 * Parses SEXTANT_WEBHOOK_ALLOW entries: an IP (`127.0.0.1`), a CIDR (`10.1.0.0/16`, `fd00::/8`), or a
 * host name (`hooks.internal`), which then may resolve to any address.
 */
export function parseAllowList(entries: readonly string[]): AllowList {
  const addresses = new net.BlockList();
  const hosts = new Set<string>();
  for (const raw of entries) {
    const entry = raw.trim();
    if (!entry) continue;
    const [ip, prefix, extra] = entry.split('/');
    const family = net.isIPv4(ip ?? '') ? 'ipv4' : net.isIPv6(ip ?? '') ? 'ipv6' : undefined;
    if (family && extra === undefined) {
      const max = family === 'ipv4' ? 32 : 128;
      const bits = prefix === undefined ? max : Number(prefix);
      if (
        !Number.isInteger(bits) ||
        bits < 0 ||
        bits > max ||
        (prefix !== undefined && !/^\d+$/.test(prefix))
      )
        throw new ValidationError(`SEXTANT_WEBHOOK_ALLOW: '${entry}' has a bad prefix length`, {
          field: 'SEXTANT_WEBHOOK_ALLOW',
        });
      addresses.addSubnet(ip!, bits, family);
    } else if (/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/i.test(entry)) {
      hosts.add(entry.toLowerCase());
    } else {
      throw new ValidationError(
        `SEXTANT_WEBHOOK_ALLOW: '${entry}' is not an IP address, CIDR range or host name`,
        { field: 'SEXTANT_WEBHOOK_ALLOW' },
      );
    }
  }
  return { addresses, hosts, isEmpty: hosts.size === 0 && addresses.rules.length === 0 };
}

/** Host name of a URL without IPv6 brackets, lowercased. */
export function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
}

/** Why `address` (reached for `host`) is refused, or undefined when it may be connected to. */
export function refusalFor(allow: AllowList, host: string, address: string): string | undefined {
  const category = blockedCategory(address);
  if (!category) return undefined;
  if (allow.hosts.has(host.toLowerCase())) return undefined;
  const v4 = embeddedIpv4(address);
  const family = v4 || net.isIPv4(address) ? 'ipv4' : 'ipv6';
  if (allow.addresses.check(v4 ?? address, family)) return undefined;
  return `${address} is a ${category} address (allow it with SEXTANT_WEBHOOK_ALLOW)`;
}
