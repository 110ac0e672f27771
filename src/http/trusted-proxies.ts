// Which peers' forwarding headers are believed. Everyone else's X-Forwarded-* are replaced.
import type { IncomingMessage } from 'node:http';
import { BlockList, isIPv4 } from 'node:net';
import { parseCidr } from '../config/schema.ts';

export class TrustedProxies {
  private readonly list = new BlockList();
  private readonly empty: boolean;

  constructor(cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const parsed = parseCidr(cidr);
      if (!parsed) continue; // the schema refused it already
      this.list.addSubnet(parsed.address, parsed.prefix, parsed.family === 4 ? 'ipv4' : 'ipv6');
    }
    this.empty = cidrs.length === 0;
  }

  trusts(address: string | undefined): boolean {
    if (this.empty || address === undefined) return false;
    const plain = unmapIPv4(address);
    return this.list.check(plain, isIPv4(plain) ? 'ipv4' : 'ipv6');
  }

  /**
   * The client's address: the peer, or, when the peer is trusted, the nearest address in
   * X-Forwarded-For that is not itself a trusted proxy.
   */
  clientAddress(req: IncomingMessage): string {
    const peer = unmapIPv4(req.socket.remoteAddress ?? '');
    if (!this.trusts(peer)) return peer;
    const chain = forwardedFor(req);
    for (let i = chain.length - 1; i >= 0; i--) {
      const hop = unmapIPv4(chain[i] as string);
      if (!this.trusts(hop)) return hop;
    }
    return chain[0] ?? peer;
  }
}

/** "::ffff:10.1.2.3" (an IPv4 peer on a dual-stack socket) → "10.1.2.3". */
export function unmapIPv4(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

export function forwardedFor(req: IncomingMessage): string[] {
  const values = req.headersDistinct['x-forwarded-for'] ?? [];
  return values.flatMap((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  );
}
