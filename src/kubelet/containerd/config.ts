// containerd 1.6 configuration (config version 2) for a containerd owned by
// skiff: its own root, state and socket, the CRI plugin set up for runc with
// cgroupfs, our local pause image and skiff's CNI directories.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

export interface ContainerdConfigOptions {
  /** Persistent data (content store, snapshots, metadata). */
  rootDir: string;
  /** Runtime state (sockets of shims, task bundles). */
  stateDir: string;
  /** gRPC socket path; containerd adds "<socket>.ttrpc" for shims. */
  socket: string;
  /** Where the CNI plugin binaries are (Debian: /usr/lib/cni). */
  cniBinDir: string;
  /** Where the CRI plugin reads CNI network configs from. */
  cniConfDir: string;
  /** The sandbox (pause) image reference. */
  sandboxImage: string;
  /** 'overlayfs' or 'native'. */
  snapshotter: string;
  /** Streaming server (exec/attach/port-forward) listen address; loopback by default. */
  streamServerAddress?: string;
  /** '0' picks a free port. */
  streamServerPort?: string;
  /**
   * Clamp containers' oom_score_adj to containerd's own (the CRI asks -998 for
   * sandboxes). Needed when we lack CAP_SYS_RESOURCE (lowering the score is
   * refused); default: detected from our capabilities.
   */
  restrictOomScoreAdj?: boolean;
  /** runc binary (default: runc from PATH). */
  runcPath?: string;
  /** Extra TOML appended verbatim (for experiments). */
  extraToml?: string;
}

/** Plugins a node does not need; disabling them keeps startup quiet and quick. */
export const DISABLED_PLUGINS = [
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.zfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.internal.v1.tracing',
  'io.containerd.tracing.processor.v1.otlp',
];

export const CAP_SYS_RESOURCE = 24;

/** Whether this process has capability number `cap` in its effective set. */
export function hasCapability(cap: number): boolean {
  try {
    const line = readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('CapEff:'));
    if (!line) return false;
    return ((BigInt('0x' + line.slice(7).trim()) >> BigInt(cap)) & 1n) === 1n;
  } catch {
    return false;
  }
}

/** TOML basic string. */
function q(s: string): string {
  return JSON.stringify(s);
}

export function renderContainerdConfig(o: ContainerdConfigOptions): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `# Written by skiff; regenerated at every start.
version = 2
root = ${q(o.rootDir)}
state = ${q(o.stateDir)}
disabled_plugins = [${DISABLED_PLUGINS.map(q).join(', ')}]

[grpc]
  address = ${q(o.socket)}

[ttrpc]
  address = ""

[debug]
  address = ""
  level = "info"

[metrics]
  address = ""

[${cri}]
  sandbox_image = ${q(o.sandboxImage)}
  stream_server_address = ${q(o.streamServerAddress ?? '127.0.0.1')}
  stream_server_port = ${q(o.streamServerPort ?? '0')}
  enable_selinux = false
  restrict_oom_score_adj = ${o.restrictOomScoreAdj ?? !hasCapability(CAP_SYS_RESOURCE)}
  max_container_log_line_size = 16384

[${cri}.containerd]
  snapshotter = ${q(o.snapshotter)}
  default_runtime_name = "runc"
  discard_unpacked_layers = false

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  SystemdCgroup = false
  BinaryName = ${q(o.runcPath ?? '')}
  # runc's own state under skiff's state dir, apart from any system containerd.
  Root = ${q(join(o.stateDir, 'runc'))}

[${cri}.cni]
  bin_dir = ${q(o.cniBinDir)}
  conf_dir = ${q(o.cniConfDir)}
  max_conf_num = 1

[${cri}.registry]
  config_path = ""
${o.extraToml ?? ''}`;
}

/**
 * True when an overlay mount works under dir (it needs kernel support and an
 * upper filesystem that supports d_type and xattrs; nested overlay often fails).
 */
export function overlayfsWorks(dir: string): boolean {
  mkdirSync(dir, { recursive: true });
  const base = mkdtempSync(join(dir, 'overlay-check-'));
  const [lower, upper, work, merged] = ['lower', 'upper', 'work', 'merged'].map((n) => join(base, n));
  try {
    for (const d of [lower, upper, work, merged]) mkdirSync(d);
    const r = spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lower},upperdir=${upper},workdir=${work}`, merged]);
    if (r.status !== 0) return false;
    spawnSync('umount', [merged]);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

/** overlayfs when it works on this filesystem, else native (plain copies, slower but always works). */
export function pickSnapshotter(rootDir: string): 'overlayfs' | 'native' {
  return overlayfsWorks(rootDir) ? 'overlayfs' : 'native';
}
