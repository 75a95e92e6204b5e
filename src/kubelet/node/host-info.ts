// Facts about the host the node reports: capacity (cpu, memory, ephemeral storage of the data
// dir's filesystem, pods), addresses and nodeInfo (os image, kernel, machine/boot ids).
import { readFileSync, statfsSync } from 'node:fs';
import { arch, cpus, hostname, networkInterfaces, release } from 'node:os';

export interface HostInfo {
  hostname: string;
  internalIP: string | undefined;
  cpu: number;
  memoryBytes: number;
  ephemeralStorageBytes: number;
  osImage: string;
  kernelVersion: string;
  machineID: string;
  bootID: string;
  systemUUID: string;
  /** GOARCH spelling: amd64, arm64, ... */
  arch: string;
}

export function goArch(a: string = arch()): string {
  if (a === 'x64') return 'amd64';
  if (a === 'ia32') return '386';
  return a;
}

function readTrimmed(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

/** PRETTY_NAME from /etc/os-release ("Debian GNU/Linux 12 (bookworm)"). */
export function osImage(text = readTrimmed('/etc/os-release')): string {
  const m = /^PRETTY_NAME=(.*)$/m.exec(text);
  if (!m) return 'Linux';
  return m[1].trim().replace(/^["']|["']$/g, '');
}

/** MemTotal from /proc/meminfo in bytes. */
export function memTotal(text = readTrimmed('/proc/meminfo')): number {
  const m = /^MemTotal:\s+(\d+)\s*kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : 0;
}

/** The host's primary non-loopback IPv4: the first up interface with one, preferring non-virtual names. */
export function primaryIPv4(ifaces = networkInterfaces()): string | undefined {
  const candidates: Array<{ name: string; ip: string }> = [];
  for (const [name, addrs] of Object.entries(ifaces)) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4' || a.internal) continue;
      candidates.push({ name, ip: a.address });
    }
  }
  // Bridges and veths we (or CNI) created are not the node's address.
  const virtual = /^(skiff|cni|veth|docker|br-|virbr|flannel|kube)/;
  return (candidates.find((c) => !virtual.test(c.name)) ?? candidates[0])?.ip;
}

export function hostInfo(dataDir: string, hostnameOverride?: string): HostInfo {
  let storage = 0;
  try {
    const s = statfsSync(dataDir);
    storage = s.blocks * s.bsize;
  } catch {
    storage = 0;
  }
  const machineID = readTrimmed('/etc/machine-id') || readTrimmed('/var/lib/dbus/machine-id');
  return {
    hostname: hostnameOverride ?? hostname(),
    internalIP: primaryIPv4(),
    cpu: cpus().length,
    memoryBytes: memTotal(),
    ephemeralStorageBytes: storage,
    osImage: osImage(),
    kernelVersion: release(),
    machineID,
    bootID: readTrimmed('/proc/sys/kernel/random/boot_id'),
    systemUUID: readTrimmed('/sys/class/dmi/id/product_uuid') || machineID,
    arch: goArch(),
  };
}
