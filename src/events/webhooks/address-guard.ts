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

/** The 16 bytes of an IPv6 address (any spelling: `::`, embedded dotted IPv4), or undefined. */
function ipv6Bytes(address: string): number[] | undefined {
  if (!net.isIPv6(address)) return undefined;
  let text = address.toLowerCase().replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const part = (s: string) => (s === '' ? [] : s.split(':').map((h) => Number.parseInt(h, 16)));
  const hi = part(head);
  const lo = tail === undefined ? [] : part(tail);
  const groups = [...hi, ...new Array(8 - hi.length - lo.length).fill(0), ...lo] as number[];
  return groups.flatMap((g) => [g >> 8, g & 255]);
}

/**
 * IPv6 forms that carry an IPv4 address: the packet ends up at the IPv4 address (or a translator or
 * tunnel delivers it there), so that is the one to judge. IPv4-mapped ::ffff:a.b.c.d, IPv4-translated
 * ::ffff:0:a.b.c.d (SIIT), IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks), NAT64
 * 64:ff9b::/96 and 64:ff9b:1::/48, and 6to4 2002:AABB:CCDD::/16. Every spelling of each form (hex
 * groups, dotted, zero runs written out) parses to the same bytes, so none slips past.
 */
function embeddedIpv4(address: string): string | undefined {
  const b = ipv6Bytes(address);
  if (!b) return undefined;
  const zeros = (from: number, to: number) => b.slice(from, to).every((x) => x === 0);
  const last4 = () => b.slice(12, 16).join('.');
  if (zeros(0, 10) && b[10] === 0xff && b[11] === 0xff) return last4();
  if (zeros(0, 8) && b[8] === 0xff && b[9] === 0xff && zeros(10, 12)) return last4();
  // ::/96 minus :: and ::1, which are IPv6's own unspecified and loopback addresses.
  if (zeros(0, 12) && !(zeros(12, 15) && (b[15] ?? 0) <= 1)) return last4();
  if (b[0] === 0 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b) {
    if (zeros(4, 12) || (b[4] === 0 && b[5] === 1)) return last4();
  }
  if (b[0] === 0x20 && b[1] === 0x02) return b.slice(2, 6).join('.');
  return undefined;
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
