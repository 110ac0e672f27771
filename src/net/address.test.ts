import { describe, expect, it } from 'vitest';
import { AddressList, addressId, clientAddress, parseCidr, unmapIPv4 } from './address.ts';

describe('parseCidr', () => {
  it('reads addresses and networks of both families, and refuses the rest', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 4 });
    expect(parseCidr('2001:db8::/32')).toEqual({ address: '2001:db8::', prefix: 32, family: 6 });
    expect(parseCidr('192.0.2.1')).toEqual({ address: '192.0.2.1', prefix: 32, family: 4 });
    for (const bad of ['10.0.0.0/33', '::/129', '10.0.0.0/8/8', 'example.com', '10.0.0.0/x', '']) {
      expect(parseCidr(bad), bad).toBeNull();
    }
  });
});

describe('AddressList', () => {
  it('matches any spelling of an address in a listed network', () => {
    const list = new AddressList(['10.0.0.0/8', '2001:db8::/32']);
    expect(list.has('10.1.2.3')).toBe(true);
    expect(list.has('::ffff:10.1.2.3')).toBe(true);
    expect(list.has('2001:db8::5')).toBe(true);
    expect(list.has('11.0.0.1')).toBe(false);
    expect(list.has('not an address')).toBe(false);
    expect(new AddressList([]).has('10.0.0.1')).toBe(false);
    expect(unmapIPv4('::ffff:192.0.2.7')).toBe('192.0.2.7');
  });
});

describe('clientAddress', () => {
  const trusted = new AddressList(['10.0.0.0/8']);
  it('is the peer when the peer is not trusted, whatever X-Forwarded-For says', () => {
    expect(clientAddress('203.0.113.9', () => ['1.2.3.4'], trusted)).toBe('203.0.113.9');
  });
  it('is the right-most untrusted hop behind trusted proxies', () => {
    expect(clientAddress('::ffff:10.0.0.2', () => ['6.6.6.6, 1.2.3.4', '10.0.0.3'], trusted)).toBe('1.2.3.4');
    expect(clientAddress('10.0.0.2', () => ['10.0.0.5'], trusted)).toBe('10.0.0.5');
    expect(clientAddress('10.0.0.2', () => undefined, trusted)).toBe('10.0.0.2');
  });
});

describe('addressId', () => {
  it('keeps IPv4 addresses and reduces IPv6 ones to their /64', () => {
    expect(addressId('203.0.113.9')).toBe('203.0.113.9');
    expect(addressId('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressId('2001:0db8:0000:0000:1:2:3:4')).toBe('2001:db8:0:0::/64');
    expect(addressId('::1')).toBe('0:0:0:0::/64');
    expect(addressId('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('keeps the groups after "::" that fall within the /64', () => {
    // 2001:db8:0:1:2:3:4:5 and 2001:db8:0:2:... are different /64s, not one.
    expect(addressId('2001:db8::1:2:3:4:5')).toBe('2001:db8:0:1::/64');
    expect(addressId('2001:db8::2:2:3:4:5')).toBe('2001:db8:0:2::/64');
    expect(addressId('2001::5:6:7:8:9')).toBe('2001:0:0:5::/64');
    expect(addressId('::2:3:4:5:6:7:8')).toBe('0:2:3:4::/64');
    expect(addressId('64:ff9b::1:2:3.4.5.6')).toBe('64:ff9b:0:0::/64');
  });

  it('counts an IPv4-mapped address as its IPv4 address, not as the /64 0:0:0:0', () => {
    expect(addressId('::ffff:203.0.113.9')).toBe('203.0.113.9');
    expect(addressId('::FFFF:198.51.100.7')).toBe('198.51.100.7');
    expect(addressId('0:0:0:0:0:ffff:cb00:7109')).toBe('203.0.113.9');
    expect(addressId('::ffff:203.0.113.9')).not.toBe(addressId('::ffff:198.51.100.7'));
  });
});
