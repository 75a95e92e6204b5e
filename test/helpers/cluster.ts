// Starts a real `skiff server` process for end-to-end tests and runs the real kubectl against it.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import https from 'node:https';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../../..');
const SKIFF = join(ROOT, 'bin', 'skiff');

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestServer {
  url: string;
  port: number;
  dataDir: string;
  kubeconfig: string;
  proc: ChildProcess;
  /** Runs kubectl (default: the `kubectl` on the PATH) with this server's kubeconfig. */
  kubectl(args: string[], opts?: { input?: string; env?: Record<string, string>; binary?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** Like kubectl but throws with stderr when the exit code is not 0. */
  k(...args: string[]): Promise<string>;
  /** Stops the process (SIGTERM, then SIGKILL) and, unless keepData, removes the data dir. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
  /** kill -9: the data dir stays for a restart. */
  kill9(): Promise<void>;
  /** Everything the process wrote to stdout and stderr so far (for diagnoses). */
  output(): string;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => res(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

export interface StartOptions {
  dataDir?: string;
  port?: number;
  datastoreEndpoint?: string;
  extraArgs?: string[];
  /** Only the API server: no scheduler or controllers changing objects behind the test's back. */
  apiOnly?: boolean;
  /** Run the agent too (kubelet, containerd, proxy): omits --disable-agent. See node-cleanup.ts. */
  agent?: boolean;
}

export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'skiff-test-'));
  const port = opts.port ?? (await freePort());
  const kubeconfig = join(dataDir, 'kubeconfig.yaml');
  const args = [
    SKIFF,
    'server',
    '--data-dir', dataDir,
    '--https-listen-port', String(port),
    '--bind-address', '127.0.0.1',
    '--write-kubeconfig', kubeconfig,
    ...(opts.agent ? [] : ['--disable-agent']),
    ...(opts.datastoreEndpoint ? ['--datastore-endpoint', opts.datastoreEndpoint] : []),
    ...(opts.apiOnly ? ['--disable-scheduler', '--disable-controller-manager', '--disable-dns'] : []),
    ...(opts.extraArgs ?? []),
  ];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout!.on('data', (d) => (log += d));
  proc.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));

  // With the agent, startup includes containerd and the image import.
  const readyMs = opts.agent ? 90_000 : 20_000;
  const deadline = Date.now() + readyMs;
  for (;;) {
    if (proc.exitCode !== null) {
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`skiff server exited early (${proc.exitCode}):\n${log}`);
    }
    if (await readyz(port)) break;
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      await exited;
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`skiff server not ready after ${readyMs / 1000}s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  const kubectl: TestServer['kubectl'] = (kargs, o = {}) =>
    new Promise((res) => {
      const child = execFile(
        o.binary ?? 'kubectl',
        kargs,
        { env: { ...process.env, KUBECONFIG: kubeconfig, ...o.env }, timeout: o.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => {
          const code = err ? (typeof (err as any).code === 'number' ? (err as any).code : 1) : 0;
          res({ code, stdout: String(stdout), stderr: String(stderr) });
        },
      );
      if (o.input !== undefined) child.stdin!.end(o.input);
      else child.stdin?.end();
    });

  const server: TestServer = {
    url: `https://127.0.0.1:${port}`,
    port,
    dataDir,
    kubeconfig,
    proc,
    kubectl,
    async k(...kargs) {
      const r = await kubectl(kargs);
      if (r.code !== 0) throw new Error(`kubectl ${kargs.join(' ')} failed (${r.code}): ${r.stderr}`);
      return r.stdout;
    },
    async stop(o = {}) {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        // The agent's shutdown stops containerd too: give it longer.
        const t = setTimeout(() => proc.kill('SIGKILL'), opts.agent ? 20_000 : 5000);
        await exited;
        clearTimeout(t);
      }
      if (!o.keepData && !opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
    output: () => log,
    async kill9() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
  return server;
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
