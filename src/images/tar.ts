// A small deterministic tar (ustar) writer: fixed mtime and owners, so the same
// input always yields the same bytes and therefore the same image digests.

export type TarEntry =
  | { type: 'dir'; path: string; mode?: number }
  | { type: 'file'; path: string; data: Buffer | string; mode?: number }
  | { type: 'symlink'; path: string; target: string };

const BLOCK = 512;

/** Writes `value` as a zero-padded octal field of `width` bytes (NUL-terminated). */
function octal(buf: Buffer, off: number, width: number, value: number): void {
  buf.write(value.toString(8).padStart(width - 1, '0') + '\0', off, width, 'ascii');
}

/** ustar stores names up to 100 bytes, or 155 bytes of prefix + 100 of name split at a slash. */
function splitName(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  throw new Error(`tar: path too long for ustar: ${path}`);
}

function header(path: string, typeflag: string, size: number, mode: number, linkname = ''): Buffer {
  const h = Buffer.alloc(BLOCK);
  const { name, prefix } = splitName(path);
  h.write(name, 0, 100, 'utf8');
  octal(h, 100, 8, mode);
  octal(h, 108, 8, 0); // uid
  octal(h, 116, 8, 0); // gid
  octal(h, 124, 12, size);
  octal(h, 136, 12, 0); // mtime: the epoch, for reproducible digests
  h.fill(0x20, 148, 156); // checksum is computed with its own field as spaces
  h.write(typeflag, 156, 1, 'ascii');
  if (Buffer.byteLength(linkname) > 100) throw new Error(`tar: link target too long: ${linkname}`);
  h.write(linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257, 6, 'ascii');
  h.write('00', 263, 2, 'ascii');
  h.write('root', 265, 32, 'ascii');
  h.write('root', 297, 32, 'ascii');
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i];
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  return h;
}

/** Builds a complete tar archive (with the two trailing zero blocks) from entries, in the given order. */
export function buildTar(entries: TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    if (e.type === 'dir') {
      const p = e.path.endsWith('/') ? e.path : e.path + '/';
      parts.push(header(p, '5', 0, e.mode ?? 0o755));
    } else if (e.type === 'symlink') {
      parts.push(header(e.path, '2', 0, 0o777, e.target));
    } else {
      const data = typeof e.data === 'string' ? Buffer.from(e.data) : e.data;
      parts.push(header(e.path, '0', data.length, e.mode ?? 0o644), data);
      const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
      if (pad) parts.push(Buffer.alloc(pad));
    }
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

/** Reads the entry names and bodies of a ustar archive (used by tests and for sanity checks). */
export function readTar(buf: Buffer): Map<string, { type: string; data: Buffer; linkname: string; mode: number }> {
  const out = new Map<string, { type: string; data: Buffer; linkname: string; mode: number }>();
  let off = 0;
  while (off + BLOCK <= buf.length) {
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    const str = (s: number, n: number) => h.toString('utf8', s, s + n).replace(/\0.*$/s, '');
    const name = str(0, 100);
    const prefix = str(345, 155);
    const size = parseInt(str(124, 12).trim() || '0', 8);
    const mode = parseInt(str(100, 8).trim() || '0', 8);
    const type = str(156, 1) || '0';
    const path = prefix ? `${prefix}/${name}` : name;
    off += BLOCK;
    out.set(path, { type, data: buf.subarray(off, off + size), linkname: str(157, 100), mode });
    off += Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}
