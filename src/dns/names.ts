// Name and address helpers for the cluster zone: IPv6 expansion, reverse (PTR) names, and the
// dashed-IP labels used by pod records and by endpoints without a hostname.
import { isIPv4, isIPv6 } from 'node:net';

/** The 32 hex nibbles of an IPv6 address, lowercase, without separators; undefined if invalid. */
export function ipv6Nibbles(ip: string): string | undefined {
  if (!isIPv6(ip)) return undefined;
  let text = ip.toLowerCase();
  const zone = text.indexOf('%');
  if (zone >= 0) text = text.slice(0, zone);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const lastColon = text.lastIndexOf(':');
  const tail = text.slice(lastColon + 1);
  if (tail.includes('.')) {
    const p = tail.split('.').map(Number);
    text = `${text.slice(0, lastColon + 1)}${((p[0] << 8) | p[1]).toString(16)}:${((p[2] << 8) | p[3]).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const missing = 8 - h.length - r.length;
  const groups = rest === undefined ? h : [...h, ...Array<string>(missing).fill('0'), ...r];
  if (groups.length !== 8) return undefined;
  return groups.map((g) => g.padStart(4, '0')).join('');
}

/** A canonical text form used as a map key: IPv4 as is, IPv6 fully expanded with colons. */
export function canonicalIP(ip: string): string | undefined {
  if (isIPv4(ip)) return ip;
  const n = ipv6Nibbles(ip);
  if (!n) return undefined;
  return n.match(/.{4}/g)!.join(':');
}

/**
 * The address named by a reverse-lookup name (without trailing dot, lowercase), in canonical
 * form, or undefined when it is not a complete in-addr.arpa / ip6.arpa name.
 */
export function reverseNameToIP(name: string): string | undefined {
  if (name.endsWith('.in-addr.arpa')) {
    const parts = name.slice(0, -'.in-addr.arpa'.length).split('.');
    if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && +p <= 255)) return undefined;
    return parts.reverse().join('.');
  }
  if (name.endsWith('.ip6.arpa')) {
    const parts = name.slice(0, -'.ip6.arpa'.length).split('.');
    if (parts.length !== 32 || !parts.every((p) => /^[0-9a-f]$/.test(p))) return undefined;
    return parts.reverse().join('').match(/.{4}/g)!.join(':');
  }
  return undefined;
}

/** The reverse-lookup name of an address (no trailing dot). */
export function reverseName(ip: string): string | undefined {
  if (isIPv4(ip)) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  const n = ipv6Nibbles(ip);
  return n ? `${n.split('').reverse().join('.')}.ip6.arpa` : undefined;
}

/** "10.1.2.3" → "10-1-2-3", "fd00::1" → "fd00--1": the label for an address in DNS names. */
export function dashedIP(ip: string): string {
  return ip.toLowerCase().replace(/[.:]/g, '-');
}

/**
 * The address spelled by a pod-record label ("10-1-2-3" or "fd00--1"), or undefined. An IPv6
 * label is told apart by having no four-part dotted reading.
 */
export function ipFromDashed(label: string): { ip: string; v6: boolean } | undefined {
  const v4 = label.replace(/-/g, '.');
  if (isIPv4(v4)) return { ip: v4, v6: false };
  const v6 = label.replace(/-/g, ':');
  if (isIPv6(v6)) return { ip: v6, v6: true };
  return undefined;
}

/** True if name is zone itself or inside it (both lowercase, no trailing dot). */
export function inZone(name: string, zone: string): boolean {
  return name === zone || (name.length > zone.length && name.endsWith(zone) && name.charCodeAt(name.length - zone.length - 1) === 46);
}
