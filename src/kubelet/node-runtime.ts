// The node's container runtime when the kubelet owns it: skiff's containerd under
// <dataDir>/agent (started and supervised here), the local images imported from
// <dataDir>/agent/images (busybox and pause are built there first when the directory has no
// archives: no registry is needed to run pods), and the CRI client over its socket.
import { existsSync, mkdirSync } from 'node:fs';
import { CriClient } from './cri/client.js';
import { containerdPaths } from './containerd/paths.js';
import { startContainerd, type ContainerdHandle } from './containerd/supervisor.js';
import { importImageDir, listImageArchives } from '../images/import.js';
import { buildTestImages, PAUSE_IMAGE } from '../images/test-images.js';
import { CriRuntime } from './runtime/cri-runtime.js';
import type { KubeletLog } from './log.js';

export interface NodeRuntime {
  runtime: CriRuntime;
  cri: CriClient;
  socket: string;
  cniConfDir: string;
  /** Set when the kubelet started containerd (stop() stops it; containers keep running in their shims). */
  containerd?: ContainerdHandle;
  stop(): Promise<void>;
}

/**
 * The runtime a kubelet runs pods on: the containerd at containerdSocket when given (the
 * caller owns it), else skiff's own containerd for dataDir, started here.
 */
export function openNodeRuntime(o: { dataDir: string; containerdSocket?: string; cniConfDir?: string; log: KubeletLog }): Promise<NodeRuntime> {
  return o.containerdSocket
    ? connectRuntime(o.containerdSocket, o.cniConfDir ?? containerdPaths(o.dataDir).cniConfDir)
    : startNodeRuntime(o.dataDir, o.log);
}

/** Connects to the containerd at socket (the caller owns it). */
export async function connectRuntime(socket: string, cniConfDir: string): Promise<NodeRuntime> {
  const cri = new CriClient(socket);
  await cri.waitForReady(30_000);
  return { runtime: new CriRuntime(cri), cri, socket, cniConfDir, stop: async () => cri.close() };
}

/** Starts skiff's containerd for dataDir and imports the node's images. */
export async function startNodeRuntime(dataDir: string, log: KubeletLog): Promise<NodeRuntime> {
  const p = containerdPaths(dataDir);
  for (const d of [p.rootDir, p.stateDir, p.cniConfDir, p.imagesDir]) mkdirSync(d, { recursive: true });
  if (listImageArchives(p.imagesDir).length === 0 && existsSync('/bin/busybox')) {
    try {
      buildTestImages(p.imagesDir);
      log('info', `built local images (busybox, pause) into ${p.imagesDir}`);
    } catch (e) {
      log('warning', `could not build local images: ${(e as Error).message}`);
    }
  }
  const containerd = await startContainerd({
    rootDir: p.rootDir,
    stateDir: p.stateDir,
    socket: p.socket,
    cniConfDir: p.cniConfDir,
    cniBinDir: '/usr/lib/cni',
    sandboxImage: PAUSE_IMAGE,
    configFile: p.configFile,
    logFile: p.logFile,
    onRestart: (pid, n) => log('warning', `containerd restarted (pid ${pid}, restart ${n})`),
  });
  const results = await importImageDir(p.imagesDir, p.socket, { snapshotter: containerd.snapshotter });
  for (const r of results) {
    if (r.error) log('warning', `image import ${r.file}: ${r.error}`);
    else log('info', `imported ${r.images.join(', ') || r.file}`);
  }
  const cri = new CriClient(p.socket);
  await cri.waitForReady(30_000);
  return {
    runtime: new CriRuntime(cri),
    cri,
    socket: p.socket,
    cniConfDir: p.cniConfDir,
    containerd,
    stop: async () => {
      cri.close();
      await containerd.stop();
    },
  };
}
