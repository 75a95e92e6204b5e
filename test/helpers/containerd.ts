// Starts a throwaway skiff-owned containerd (the Debian /usr/bin/containerd)
// in a temp dir, with the local busybox and pause images imported, for tests
// of the CRI client and the kubelet. stop() removes every sandbox through the
// CRI, stops containerd by PID, kills leftover shims of this containerd,
// unmounts and removes its dirs and deletes network namespaces it created.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { CriClient } from '../../src/kubelet/cri/client.js';
import { startContainerd, type ContainerdHandle } from '../../src/kubelet/containerd/supervisor.js';
import { teardownContainerdState } from '../../src/kubelet/containerd/cleanup.js';
import { importImage } from '../../src/images/import.js';
import { buildTestImages, BUSYBOX_IMAGE, PAUSE_IMAGE } from '../../src/images/test-images.js';

export { BUSYBOX_IMAGE, PAUSE_IMAGE };

const NETNS_DIR = '/var/run/netns';

function onPath(bin: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
}

/** Why containerd tests cannot run here, or undefined when they can. */
export function containerdSkipReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'containerd tests need root';
  for (const bin of ['containerd', 'ctr', 'runc', 'containerd-shim-runc-v2']) {
    if (!onPath(bin)) return `containerd tests need ${bin} (apt-get install containerd runc)`;
  }
  if (!existsSync('/bin/busybox')) return 'containerd tests need /bin/busybox (apt-get install busybox-static)';
  return undefined;
}

export interface TestContainerd {
  dir: string;
  socket: string;
  rootDir: string;
  stateDir: string;
  cniConfDir: string;
  /** A directory for pod log dirs. */
  logDir: string;
  handle: ContainerdHandle;
  cri: CriClient;
  pauseKind: 'c' | 'shell';
  /** The built archives (in dir/images). */
  imageFiles: { busybox: string; pause: string };
  timings: { startMs: number; importMs: number };
  stop(): Promise<void>;
}

export interface TestContainerdOptions {
  /** CNI conflist written to the conf dir (none by default: use NODE network pods). */
  cniConflist?: object;
  snapshotter?: 'auto' | 'overlayfs' | 'native';
  /** Import the busybox and pause images (default true). */
  importImages?: boolean;
}

function listNetns(): Set<string> {
  try {
    return new Set(readdirSync(NETNS_DIR));
  } catch {
    return new Set();
  }
}

/** The CRI plugin learns about imported images from containerd events, a moment after the import. */
export function waitForCriImages(cri: CriClient, refs: string[], timeoutMs = 10_000): Promise<void> {
  return cri.image.waitForImages(refs, timeoutMs);
}

export async function startTestContainerd(opts: TestContainerdOptions = {}): Promise<TestContainerd> {
  // Short path: the socket path must stay under the unix socket limit.
  const dir = mkdtempSync('/tmp/skiff-ctrd-');
  const rootDir = join(dir, 'root');
  const stateDir = join(dir, 'state');
  const cniConfDir = join(dir, 'cni');
  const logDir = join(dir, 'logs');
  const socket = join(dir, 'containerd.sock');
  for (const d of [cniConfDir, logDir]) mkdirSync(d, { recursive: true });
  if (opts.cniConflist) writeFileSync(join(cniConfDir, '10-test.conflist'), JSON.stringify(opts.cniConflist));
  const netnsBefore = listNetns();

  let handle: ContainerdHandle | undefined;
  let cri: CriClient | undefined;
  let stopped = false;
  const hardCleanup = (): void => {
    // Synchronous last resort (process exit): kill containerd by PID, then its leftovers.
    if (handle?.pid) {
      try { process.kill(handle.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    teardownContainerdState({ rootDir, stateDir, socket, removeDirs: true });
    for (const ns of listNetns()) if (!netnsBefore.has(ns) && ns.startsWith('cni-')) spawnSync('ip', ['netns', 'delete', ns]);
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', () => { if (!stopped) hardCleanup(); });

  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (cri) {
      try {
        for (const c of await cri.runtime.listContainers(undefined, { timeoutMs: 10_000 })) {
          await cri.runtime.removeContainer(c.id, { timeoutMs: 30_000 }).catch(() => {});
        }
        for (const s of await cri.runtime.listPodSandbox(undefined, { timeoutMs: 10_000 })) {
          await cri.runtime.stopPodSandbox(s.id, { timeoutMs: 30_000 }).catch(() => {});
          await cri.runtime.removePodSandbox(s.id, { timeoutMs: 30_000 }).catch(() => {});
        }
      } catch {
        // containerd may be down already; the teardown below still cleans up
      }
      cri.close();
    }
    await handle?.stop();
    handle = undefined;
    hardCleanup();
  };

  try {
    const images = buildTestImages(join(dir, 'images'));
    const t0 = performance.now();
    handle = await startContainerd({
      rootDir, stateDir, socket, cniConfDir, sandboxImage: PAUSE_IMAGE, cniBinDir: '/usr/lib/cni', snapshotter: opts.snapshotter,
    });
    const t1 = performance.now();
    cri = new CriClient(socket, { timeoutMs: 60_000 });
    if (opts.importImages !== false) {
      for (const f of [images.pause, images.busybox]) await importImage(f, { socket, snapshotter: handle.snapshotter });
      await waitForCriImages(cri, [PAUSE_IMAGE, BUSYBOX_IMAGE]);
    }
    const t2 = performance.now();
    return {
      dir, socket, rootDir, stateDir, cniConfDir, logDir, handle, cri,
      pauseKind: images.pauseKind,
      imageFiles: { busybox: images.busybox, pause: images.pause },
      timings: { startMs: t1 - t0, importMs: t2 - t1 },
      stop,
    };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}
