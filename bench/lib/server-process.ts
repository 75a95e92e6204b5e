// Starts `skiff server --disable-agent` as a child process for benchmarks. Like
// test/helpers/cluster.ts, but it takes extra node flags (e.g. --cpu-prof, which NODE_OPTIONS
// does not allow) and leaves the data dir to the caller.
import { spawn, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import { join, resolve } from 'node:path';
import { freePort } from '../../test/helpers/cluster.js';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../../..');
const SKIFF = join(ROOT, 'bin', 'skiff');

export interface ServerProcess {
  pid: number;
  port: number;
  kubeconfig: string;
  proc: ChildProcess;
  /** What the server printed so far (stdout and stderr, the first 50 kB unless keepOutput). */
  output(): string;
  /** SIGTERM (the server exits cleanly, so --cpu-prof writes its profile), SIGKILL after 10 s. */
  stop(): Promise<void>;
}

export interface ServerProcessOptions {
  dataDir: string;
  datastoreEndpoint?: string;
  /** Flags for node itself (before the script), e.g. --cpu-prof. */
  nodeArgs?: string[];
  /** Extra `skiff server` flags, e.g. ['--disable-scheduler']. */
  extraArgs?: string[];
  /** Extra environment variables for the server. */
  env?: Record<string, string>;
  /** Keep all of the server's output rather than the first 50 kB (for a bench that parses it). */
  keepOutput?: boolean;
}

export async function startServerProcess(opts: ServerProcessOptions): Promise<ServerProcess> {
  const port = await freePort();
  const kubeconfig = join(opts.dataDir, 'kubeconfig.yaml');
  const args = [
    ...(opts.nodeArgs ?? []),
    SKIFF,
    'server',
    '--data-dir', opts.dataDir,
    '--https-listen-port', String(port),
    '--bind-address', '127.0.0.1',
    '--write-kubeconfig', kubeconfig,
    '--disable-agent',
    ...(opts.datastoreEndpoint ? ['--datastore-endpoint', opts.datastoreEndpoint] : []),
    ...(opts.extraArgs ?? []),
  ];
  const env = opts.env ? { ...process.env, ...opts.env } : process.env;
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  let log = '';
  const keep = (d: Buffer) => {
    if (opts.keepOutput || log.length < 50_000) log += d;
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const alive = () => proc.exitCode === null && proc.signalCode === null;

  const stop = async (): Promise<void> => {
    if (!alive()) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => alive() && proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(t);
  };

  const deadline = Date.now() + 20_000;
  while (!(await readyz(port))) {
    if (!alive() || Date.now() > deadline) {
      if (alive()) proc.kill('SIGKILL');
      await exited;
      throw new Error(`skiff server did not become ready (exit ${proc.exitCode ?? proc.signalCode}):\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { pid: proc.pid!, port, kubeconfig, proc, stop, output: () => log };
}

function readyz(port: number): Promise<boolean> {
  return new Promise((res) => {
    const req = https.get({ host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false, timeout: 1000 }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on('error', () => res(false));
    req.on('timeout', () => {
      req.destroy();
      res(false);
    });
  });
}
