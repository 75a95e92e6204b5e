// Tears down everything a skiff-owned containerd leaves behind once it is
// stopped: runc containers, shim processes (found by their -address argument,
// killed by PID), mounts under its root/state dirs, and optionally the dirs.
// For tests and `skiff agent` uninstall-style cleanup; never touches another
// containerd's containers.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { cmdline } from './supervisor.js';

export interface TeardownOptions {
  rootDir: string;
  stateDir: string;
  socket: string;
  /** rm -rf rootDir and stateDir at the end (default false). */
  removeDirs?: boolean;
  runcPath?: string;
}

export interface TeardownResult {
  deletedContainers: string[];
  killedShims: number[];
  unmounted: string[];
}

/** PIDs of containerd shims serving the containerd at `socket`. */
export function findShims(socket: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const argv = cmdline(Number(name));
    if (!argv[0]?.includes('containerd-shim')) continue;
    const i = argv.indexOf('-address');
    if (i >= 0 && argv[i + 1] === socket) pids.push(Number(name));
  }
  return pids;
}

/** Mount points at or under any of dirs, deepest first (from /proc/self/mountinfo). */
export function mountsUnder(dirs: string[]): string[] {
  const roots = dirs.map((d) => resolve(d));
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    const mp = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (roots.some((r) => mp === r || mp.startsWith(r + '/'))) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

export function teardownContainerdState(o: TeardownOptions): TeardownResult {
  const result: TeardownResult = { deletedContainers: [], killedShims: [], unmounted: [] };
  const runc = o.runcPath ?? 'runc';
  const runcRoot = join(o.stateDir, 'runc');
  if (existsSync(runcRoot)) {
    for (const ns of readdirSync(runcRoot)) {
      const root = join(runcRoot, ns);
      const list = spawnSync(runc, ['--root', root, 'list', '-q'], { encoding: 'utf8' });
      for (const id of (list.stdout ?? '').split('\n').map((s) => s.trim()).filter(Boolean)) {
        spawnSync(runc, ['--root', root, 'kill', id, 'KILL']);
        const del = spawnSync(runc, ['--root', root, 'delete', '--force', id]);
        if (del.status === 0) result.deletedContainers.push(id);
      }
    }
  }
  for (const pid of findShims(o.socket)) {
    try {
      process.kill(pid, 'SIGKILL');
      result.killedShims.push(pid);
    } catch {
      // already gone
    }
  }
  for (const mp of mountsUnder([o.rootDir, o.stateDir])) {
    if (spawnSync('umount', [mp]).status !== 0) spawnSync('umount', ['-l', mp]);
    result.unmounted.push(mp);
  }
  if (o.removeDirs) {
    rmSync(o.rootDir, { recursive: true, force: true });
    rmSync(o.stateDir, { recursive: true, force: true });
  }
  return result;
}
