// Summarises a V8 .cpuprofile (written by `node --cpu-prof`): self time per function.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  /** "functionName file:line" (file relative to the repository when under it). */
  name: string;
  ms: number;
  /** Share of the non-idle sampled time, 0..100. */
  percent: number;
}

/**
 * Functions (and source files) by self time, highest first; "(idle)" is left out of the
 * ranking and the total. Self time of a native call (e.g. a sqlite statement) lands on its JS caller.
 */
export function topSelfTime(
  path: string,
  root: string,
  top = 10,
): { entries: SelfTime[]; files: SelfTime[]; busyMs: number; idleMs: number } {
  const p = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) byId.set(n.id, n);
  // timeDeltas[i] is the time since the previous sample; charge the interval ending at sample
  // i+1 to sample i (the function that was running during it).
  const self = new Map<string, number>();
  const byFile = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  for (let i = 0; i < p.samples.length; i++) {
    const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
    const f = byId.get(p.samples[i])!.callFrame;
    if (f.functionName === '(idle)') {
      idle += dt;
      continue;
    }
    busy += dt;
    const file = f.url.replace(/^file:\/\//, '').replace(root.endsWith('/') ? root : root + '/', '');
    const name = `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
    self.set(name, (self.get(name) ?? 0) + dt);
    const fileKey = file || f.functionName;
    byFile.set(fileKey, (byFile.get(fileKey) ?? 0) + dt);
  }
  const rank = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, t]) => ({ name, ms: t, percent: (100 * t) / busy }));
  return { entries: rank(self), files: rank(byFile), busyMs: busy, idleMs: idle };
}
