// `skiff hollow-nodes` as a child process of a test: started, awaited until its nodes are
// registered, killed by PID (also when the test process dies).
import { spawn, type ChildProcess } from 'node:child_process';
import { SKIFF } from './node-cleanup.js';
import { waitUntil } from '../e2e/util.js';

export interface Hollow {
  proc: ChildProcess;
  log(): string;
  kill(): Promise<void>;
}

/** Starts a `skiff hollow-nodes` child process and waits until its nodes are registered. */
export async function startHollow(kubeconfig: string, args: string[]): Promise<Hollow> {
  const proc = spawn(process.execPath, [SKIFF, 'hollow-nodes', '--kubeconfig', kubeconfig, '--stats-interval', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = proc.pid!;
  // A crashed test run must not leave simulated nodes behind.
  process.once('exit', () => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  let log = '';
  proc.stdout!.on('data', (d) => (log += d));
  proc.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  await waitUntil(() => /nodes ready in/.test(log) || proc.exitCode !== null, 'hollow-nodes to register', 30_000, 50);
  if (proc.exitCode !== null) throw new Error(`hollow-nodes exited: ${log}`);
  return {
    proc,
    log: () => log,
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) {
        process.kill(pid, 'SIGKILL');
        await exited;
      }
    },
  };
}
