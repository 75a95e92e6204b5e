// Node pressure as upstream's eviction manager judges it with its default hard thresholds
// (memory.available<100Mi, nodefs.available<10%, nodefs.inodesFree<5%): the signals are read
// from the host (MemAvailable, statfs of the data dir's filesystem), and a condition stays True
// for the transition period (5 minutes) after its signal last crossed, so it does not flap.
// Upstream has no default pid.available threshold, so PIDPressure only follows one when given.
import { readFileSync, statfsSync } from 'node:fs';

export interface PressureSignals {
  memoryAvailableBytes?: number;
  /** Free fraction (0..1) of the data dir's filesystem, as available to unprivileged users. */
  nodefsAvailable?: number;
  nodefsInodesFree?: number;
  /** Free fraction of kernel.pid_max. */
  pidAvailable?: number;
}

export interface PressureThresholds {
  memoryAvailableBytes: number;
  nodefsAvailable: number;
  nodefsInodesFree: number;
  /** undefined: no PID threshold (upstream's default). */
  pidAvailable?: number;
}

export const DEFAULT_EVICTION_HARD: PressureThresholds = { memoryAvailableBytes: 100 * 2 ** 20, nodefsAvailable: 0.1, nodefsInodesFree: 0.05 };
/** Upstream's evictionPressureTransitionPeriod. */
export const PRESSURE_TRANSITION_MS = 5 * 60_000;

export interface Pressure {
  memory: boolean;
  disk: boolean;
  pid: boolean;
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The host's signals now; a signal that cannot be read is left out (and never reports pressure). */
export function readPressureSignals(dataDir: string): PressureSignals {
  const out: PressureSignals = {};
  const mem = /^MemAvailable:\s+(\d+)\s*kB/m.exec(readText('/proc/meminfo'));
  if (mem) out.memoryAvailableBytes = Number(mem[1]) * 1024;
  try {
    const fs = statfsSync(dataDir);
    if (fs.blocks > 0) out.nodefsAvailable = fs.bavail / fs.blocks;
    if (fs.files > 0) out.nodefsInodesFree = fs.ffree / fs.files;
  } catch {
    // no data dir yet
  }
  const pidMax = Number(readText('/proc/sys/kernel/pid_max').trim());
  // /proc/loadavg's fourth field: runnable/total scheduling entities (threads).
  const threads = Number(/\s\d+\/(\d+)\s/.exec(readText('/proc/loadavg'))?.[1]);
  if (pidMax > 0 && Number.isFinite(threads)) out.pidAvailable = Math.max(0, 1 - threads / pidMax);
  return out;
}

/** Which signals are past their thresholds right now. */
export function pressureOf(s: PressureSignals, t: PressureThresholds = DEFAULT_EVICTION_HARD): Pressure {
  const below = (v: number | undefined, limit: number | undefined) => v !== undefined && limit !== undefined && v < limit;
  return {
    memory: below(s.memoryAvailableBytes, t.memoryAvailableBytes),
    disk: below(s.nodefsAvailable, t.nodefsAvailable) || below(s.nodefsInodesFree, t.nodefsInodesFree),
    pid: below(s.pidAvailable, t.pidAvailable),
  };
}

/** Keeps a pressure True until the transition period has passed since it was last observed. */
export class PressureTracker {
  private readonly lastSeen: Record<keyof Pressure, number> = { memory: -Infinity, disk: -Infinity, pid: -Infinity };

  constructor(private readonly transitionMs = PRESSURE_TRANSITION_MS) {}

  observe(now: Pressure, at = Date.now()): Pressure {
    const out = { memory: false, disk: false, pid: false };
    for (const k of ['memory', 'disk', 'pid'] as const) {
      if (now[k]) this.lastSeen[k] = at;
      out[k] = at - this.lastSeen[k] < this.transitionMs;
    }
    return out;
  }
}
