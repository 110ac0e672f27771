// IP addresses and CIDRs, in one place: how the config spells them, how a peer's address is
// read (an IPv4 peer on a dual-stack socket shows as ::ffff:a.b.c.d), lists of networks to
// test an address against (trustedProxies, allow.sourceCidrs), and the unit one client is
// counted by (the basic-auth lockout).
import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';

export interface Cidr {
  readonly address: string;
  readonly prefix: number;
  readonly family: 4 | 6;
}

/** "10.0.0.0/8", "2001:db8::/32" or a single address (a /32 or /128); null when malformed. */
export function parseCidr(value: string): Cidr | null {
  const [address = '', prefixText, extra] = value.split('/');
  if (extra !== undefined) return null;
  const version = isIP(address);
  if (version === 0) return null;
  const family = version === 4 ? 4 : 6;
  const max = family === 4 ? 32 : 128;
  if (prefixText === undefined) return { address, prefix: max, family };
  if (!/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = Number(prefixText);
  return prefix <= max ? { address, prefix, family } : null;
}

/** "::ffff:10.1.2.3" (an IPv4 peer on a dual-stack socket) → "10.1.2.3". */
export function unmapIPv4(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/**
 * The client's address: the peer, or, when the peer is a trusted proxy, the right-most
 * X-Forwarded-For entry that is not itself a trusted proxy. `forwardedFor` (every line of the
 * header, in order) is read only for a trusted peer.
 */
export function clientAddress(
  peer: string,
  forwardedFor: () => readonly string[] | undefined,
  trusted: AddressList,
): string {
  const plainPeer = unmapIPv4(peer);
  if (!trusted.has(plainPeer)) return plainPeer;
  const chain = (forwardedFor() ?? []).flatMap((line) =>
    line
      .split(',')
      .map((hop) => hop.trim())
      .filter((hop) => hop !== ''),
  );
  for (let i = chain.length - 1; i >= 0; i--) {
    const hop = unmapIPv4(chain[i] as string);
    if (!trusted.has(hop)) return hop;
  }
  return chain[0] ?? plainPeer;
}

/** A set of networks, built once per config; `has` takes any spelling of an address. */
export class AddressList {
  readonly empty: boolean;
  private readonly list = new BlockList();

  /** Entries must have passed parseCidr (the config schema checks them). */
  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const parsed = parseCidr(cidr);
      if (parsed) this.list.addSubnet(parsed.address, parsed.prefix, parsed.family === 4 ? 'ipv4' : 'ipv6');
    }
    this.empty = cidrs.length === 0;
  }

  has(address: string | undefined): boolean {
    if (this.empty || address === undefined || address === '') return false;
    const plain = unmapIPv4(address);
    const family = isIPv4(plain) ? 'ipv4' : isIPv6(plain) ? 'ipv6' : undefined;
    return family !== undefined && this.list.check(plain, family);
  }
}

/**
 * An IPv4 address as it is (also when written IPv4-mapped, `::ffff:a.b.c.d`); an IPv6 one by
 * its /64 prefix, which one host usually holds whole.
 */
export function addressId(address: string): string {
  if (!isIPv6(address)) return address;
  const groups = ipv6Groups(address);
  // Else every IPv4 client that reaches us mapped would count as the one /64 `0:0:0:0`.
  if (groups.slice(0, 6).join(':') === '0:0:0:0:0:ffff') return ipv4Of(groups[6], groups[7]);
  return `${groups.slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, in lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  const [head = '', tail] = (address.split('%')[0] as string).split('::');
  // An embedded IPv4 address (`::ffff:1.2.3.4`) fills the last two groups.
  const split = (part: string) =>
    part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? dottedToGroups(g) : [g]));
  const headGroups = split(head);
  const tailGroups = tail === undefined ? [] : split(tail);
  // Everything the `::` stands for: the groups between the head and the tail, all zero.
  const zeros = tail === undefined ? [] : Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].map((g) => Number.parseInt(g, 16).toString(16));
}

function dottedToGroups(dotted: string): string[] {
  const [a = 0, b = 0, c = 0, d = 0] = dotted.split('.').map(Number);
  return [((a << 8) | b).toString(16), ((c << 8) | d).toString(16)];
}

function ipv4Of(high = '0', low = '0'): string {
  const h = Number.parseInt(high, 16);
  const l = Number.parseInt(low, 16);
  return [h >> 8, h & 255, l >> 8, l & 255].join('.');
}
