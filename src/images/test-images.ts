// The images a skiff node needs without a registry, built from what Debian
// ships on the machine:
//  - skiff.local/busybox:latest — /bin/busybox plus a symlink per applet;
//  - skiff.local/pause:3.10     — the sandbox (infra) container: a tiny static C
//    program compiled here with gcc, which reaps orphans and exits on SIGTERM /
//    SIGINT; without a compiler, a busybox shell loop doing the same.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImageArchive, type BuiltImage } from './oci.js';
import type { TarEntry } from './tar.js';

export const BUSYBOX_IMAGE = 'skiff.local/busybox:latest';
export const PAUSE_IMAGE = 'skiff.local/pause:3.10';
export const DEFAULT_BUSYBOX_PATH = '/bin/busybox';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The pause program: sleeps in pause(2), reaps every child it inherits, exits 0 on SIGINT/SIGTERM. */
export const PAUSE_C_SOURCE = `#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_stop(int sig) {
  (void)sig;
  _exit(0);
}

static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "-v") == 0) {
    puts("skiff pause 3.10");
    return 0;
  }
  if (getpid() != 1) fputs("pause: warning: not running as PID 1\\n", stderr);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sa.sa_handler = on_child;
  sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigaction(SIGCHLD, &sa, NULL);
  for (;;) pause();
  return 1;
}
`;

/** Fallback pause as a busybox shell: waits on a background sleep so traps run at once, and `wait` reaps. */
const PAUSE_SHELL_SCRIPT = "trap 'exit 0' TERM INT; while :; do sleep 2147483647 & wait $!; kill $! 2>/dev/null; done";

export interface TestImageOptions {
  busyboxPath?: string;
  /** C compiler to build pause with; `false` forces the shell fallback. */
  cc?: string | false;
}

/** Lists busybox's applets with their install paths ("bin/sh", "usr/bin/awk", ...). */
function busyboxApplets(busybox: string): string[] {
  const r = spawnSync(busybox, ['--list-full'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${busybox} --list-full failed: ${r.stderr || r.error?.message}`);
  return r.stdout.split('\n').map((s) => s.trim().replace(/^\/+/, '')).filter((s) => s && s !== 'bin/busybox');
}

function baseDirs(): TarEntry[] {
  return [
    { type: 'dir', path: 'bin' },
    { type: 'dir', path: 'sbin' },
    { type: 'dir', path: 'usr' },
    { type: 'dir', path: 'usr/bin' },
    { type: 'dir', path: 'usr/sbin' },
    { type: 'dir', path: 'etc' },
    { type: 'dir', path: 'dev' },
    { type: 'dir', path: 'proc' },
    { type: 'dir', path: 'sys' },
    { type: 'dir', path: 'var' },
    { type: 'dir', path: 'root', mode: 0o700 },
    { type: 'dir', path: 'home' },
    { type: 'dir', path: 'tmp', mode: 0o1777 },
  ];
}

function etcFiles(): TarEntry[] {
  return [
    { type: 'file', path: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' },
    { type: 'file', path: 'etc/group', data: 'root:x:0:\nnogroup:x:65534:\n' },
  ];
}

/** True for an ELF executable without a program interpreter (PT_INTERP), i.e. statically linked. */
export function isStaticElf(bin: Buffer): boolean {
  if (bin.length < 64 || bin.readUInt32BE(0) !== 0x7f454c46) return false;
  const is64 = bin[4] === 2;
  const le = bin[5] === 1;
  const u16 = (o: number) => (le ? bin.readUInt16LE(o) : bin.readUInt16BE(o));
  const u32 = (o: number) => (le ? bin.readUInt32LE(o) : bin.readUInt32BE(o));
  const phoff = is64 ? Number(le ? bin.readBigUInt64LE(32) : bin.readBigUInt64BE(32)) : u32(28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  for (let i = 0; i < phnum; i++) {
    const off = phoff + i * phentsize;
    if (off + 4 > bin.length) return false;
    if (u32(off) === 3 /* PT_INTERP */) return false;
  }
  return true;
}

function readStaticBusybox(busyboxPath: string): Buffer {
  const bin = readFileSync(busyboxPath);
  if (!isStaticElf(bin)) throw new Error(`${busyboxPath} is not a statically linked executable (install busybox-static)`);
  return bin;
}

/** The busybox rootfs: the binary and one absolute symlink per applet. */
export function busyboxRootfs(busyboxPath = DEFAULT_BUSYBOX_PATH): TarEntry[] {
  const entries: TarEntry[] = [...baseDirs(), ...etcFiles()];
  entries.push({ type: 'file', path: 'bin/busybox', data: readStaticBusybox(busyboxPath), mode: 0o755 });
  const dirs = new Set(entries.filter((e) => e.type === 'dir').map((e) => e.path));
  const seen = new Set<string>();
  for (const applet of busyboxApplets(busyboxPath)) {
    if (seen.has(applet)) continue;
    seen.add(applet);
    const parent = applet.slice(0, applet.lastIndexOf('/'));
    if (parent && !dirs.has(parent)) {
      dirs.add(parent);
      entries.push({ type: 'dir', path: parent });
    }
    entries.push({ type: 'symlink', path: applet, target: '/bin/busybox' });
  }
  return entries;
}

export function buildBusyboxImage(opts: TestImageOptions = {}): BuiltImage {
  return buildImageArchive({
    ref: BUSYBOX_IMAGE,
    rootfs: busyboxRootfs(opts.busyboxPath),
    config: { Env: [PATH_ENV], Cmd: ['sh'] },
  });
}

/** Compiles PAUSE_C_SOURCE statically; returns the binary, or null when no working compiler / static libc. */
export function compilePause(cc = 'cc'): Buffer | null {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-pause-'));
  try {
    writeFileSync(join(dir, 'pause.c'), PAUSE_C_SOURCE);
    const r = spawnSync(cc, ['-static', '-Os', '-s', '-o', join(dir, 'pause'), join(dir, 'pause.c')], { encoding: 'utf8' });
    if (r.status !== 0 || !existsSync(join(dir, 'pause'))) return null;
    return readFileSync(join(dir, 'pause'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function buildPauseImage(opts: TestImageOptions = {}): BuiltImage & { kind: 'c' | 'shell' } {
  const binary = opts.cc === false ? null : compilePause(opts.cc ?? 'cc');
  if (binary) {
    const image = buildImageArchive({
      ref: PAUSE_IMAGE,
      rootfs: [{ type: 'file', path: 'pause', data: binary, mode: 0o755 }],
      config: { Entrypoint: ['/pause'], User: '65535:65535', Env: [PATH_ENV] },
    });
    return { ...image, kind: 'c' };
  }
  const image = buildImageArchive({
    ref: PAUSE_IMAGE,
    rootfs: [
      { type: 'dir', path: 'bin' },
      { type: 'file', path: 'bin/busybox', data: readStaticBusybox(opts.busyboxPath ?? DEFAULT_BUSYBOX_PATH), mode: 0o755 },
      { type: 'symlink', path: 'bin/sh', target: '/bin/busybox' },
      { type: 'symlink', path: 'bin/sleep', target: '/bin/busybox' },
    ],
    config: { Entrypoint: ['/bin/sh', '-c', PAUSE_SHELL_SCRIPT], User: '65535:65535', Env: [PATH_ENV] },
  });
  return { ...image, kind: 'shell' };
}

export interface WrittenTestImages {
  busybox: string;
  pause: string;
  pauseKind: 'c' | 'shell';
}

/** Writes busybox.tar and pause.tar into dir (created if missing). */
export function buildTestImages(dir: string, opts: TestImageOptions = {}): WrittenTestImages {
  mkdirSync(dir, { recursive: true });
  const busybox = buildBusyboxImage(opts);
  const pause = buildPauseImage(opts);
  const busyboxFile = join(dir, 'busybox.tar');
  const pauseFile = join(dir, 'pause.tar');
  writeFileSync(busyboxFile, busybox.archive);
  writeFileSync(pauseFile, pause.archive);
  return { busybox: busyboxFile, pause: pauseFile, pauseKind: pause.kind };
}
