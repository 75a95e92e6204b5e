// Atomic updates of a volume's files (like upstream's AtomicWriter), so a reader never sees a
// half-written set: the payload goes into a fresh hidden "..<timestamp>" directory, the
// "..data" symlink is swapped to it with one rename, and each top-level name is a symlink
// "name -> ..data/name". Files removed from the payload disappear the same way.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, normalize, sep } from 'node:path';

export interface FileProjection {
  data: Buffer;
  /** File mode (e.g. 0o644). */
  mode: number;
}

export type Payload = Map<string, FileProjection>;

const DATA_DIR_NAME = '..data';
const DATA_TMP_NAME = '..data_tmp';

/** Rejects absolute paths, "..", and names starting with ".." (ours). */
export function validatePayloadPath(p: string): void {
  if (!p) throw new Error('invalid path: must not be empty');
  if (p.startsWith('/')) throw new Error(`invalid path ${p}: must be relative`);
  if (p.length > 4096) throw new Error(`invalid path ${p}: too long`);
  const parts = p.split('/');
  if (parts.includes('..')) throw new Error(`invalid path ${p}: must not contain '..'`);
  if (p.startsWith('..')) throw new Error(`invalid path ${p}: must not start with '..'`);
}

function timestampDirName(): string {
  const d = new Date();
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `..${d.getUTCFullYear()}_${pad(d.getUTCMonth() + 1)}_${pad(d.getUTCDate())}_${pad(d.getUTCHours())}_${pad(d.getUTCMinutes())}_${pad(d.getUTCSeconds())}.${randomBytes(5).toString('hex')}`;
}

function filesUnder(dir: string, rel = ''): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...filesUnder(dir, p));
    else out.push(p);
  }
  return out;
}

/** True when the current ..data already holds exactly this payload. */
function sameAsCurrent(targetDir: string, payload: Payload): boolean {
  const current = join(targetDir, DATA_DIR_NAME);
  if (!existsSync(current)) return false;
  let files: string[];
  try {
    files = filesUnder(current);
  } catch {
    return false;
  }
  if (files.length !== payload.size) return false;
  for (const f of files) {
    const want = payload.get(f);
    if (!want) return false;
    const full = join(current, f);
    if ((lstatSync(full).mode & 0o7777) !== want.mode) return false;
    if (!readFileSync(full).equals(want.data)) return false;
  }
  return true;
}

/** Writes payload into targetDir atomically; returns true when anything changed. */
export function writeAtomic(targetDir: string, payload: Payload): boolean {
  for (const p of payload.keys()) validatePayloadPath(p);
  mkdirSync(targetDir, { recursive: true });
  if (sameAsCurrent(targetDir, payload)) return false;

  let oldTsDir: string | undefined;
  try {
    oldTsDir = readlinkSync(join(targetDir, DATA_DIR_NAME));
  } catch {
    oldTsDir = undefined;
  }
  const oldTopLevel = new Set<string>();
  if (oldTsDir) {
    try {
      for (const f of filesUnder(join(targetDir, oldTsDir))) oldTopLevel.add(f.split('/')[0]);
    } catch {
      // the old directory is gone: nothing to compare against
    }
  }

  const tsName = timestampDirName();
  const tsDir = join(targetDir, tsName);
  mkdirSync(tsDir, { mode: 0o755 });
  for (const [rel, f] of payload) {
    const full = join(tsDir, normalize(rel));
    mkdirSync(dirname(full), { recursive: true, mode: 0o755 });
    writeFileSync(full, f.data, { mode: f.mode });
    chmodSync(full, f.mode); // not subject to the umask
  }

  const tmpLink = join(targetDir, DATA_TMP_NAME);
  rmSync(tmpLink, { force: true });
  symlinkSync(tsName, tmpLink);
  renameSync(tmpLink, join(targetDir, DATA_DIR_NAME));

  const newTopLevel = new Set([...payload.keys()].map((p) => p.split(sep)[0].split('/')[0]));
  for (const name of newTopLevel) {
    const link = join(targetDir, name);
    let isLink = false;
    try {
      isLink = lstatSync(link).isSymbolicLink();
    } catch {
      isLink = false;
    }
    if (!isLink) {
      rmSync(link, { recursive: true, force: true });
      symlinkSync(join(DATA_DIR_NAME, name), link);
    }
  }
  for (const name of oldTopLevel) {
    if (newTopLevel.has(name)) continue;
    try {
      unlinkSync(join(targetDir, name));
    } catch {
      // already gone
    }
  }
  if (oldTsDir && oldTsDir !== tsName) rmSync(join(targetDir, oldTsDir), { recursive: true, force: true });
  return true;
}
