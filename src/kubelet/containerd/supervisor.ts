// Runs containerd as a child process of the skiff agent: writes its config,
// starts it, waits for its socket, restarts it with backoff when it dies, and
// stops it by PID. Containers live in shims, so they survive a restart.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { renderContainerdConfig, pickSnapshotter } from './config.js';

export interface StartContainerdOptions {
  rootDir: string;
  stateDir: string;
  /** gRPC socket path (keep it under ~100 bytes: unix socket path limit, and shims append ".ttrpc"). */
  socket: string;
  cniBinDir?: string;
  cniConfDir: string;
  sandboxImage: string;
  /** 'auto' (default) checks that overlay mounts work under rootDir, else uses native. */
  snapshotter?: 'auto' | 'overlayfs' | 'native';
  /** Default: <rootDir>/config.toml */
  configFile?: string;
  /** Default: <rootDir>/containerd.log (appended to). */
  logFile?: string;
  containerdPath?: string;
  /** Restart containerd when it exits on its own (default true). */
  restart?: boolean;
  readyTimeoutMs?: number;
  /** Called after an unplanned exit once the new process serves again. */
  onRestart?: (pid: number, restarts: number) => void;
  /** Called on every unplanned exit. */
  onExit?: (code: number | null, signal: NodeJS.Signals | null) => void;
  /** runc binary for the runc runtime (default: runc from PATH). */
  runcPath?: string;
  extraToml?: string;
}

export interface ContainerdHandle {
  readonly socket: string;
  readonly snapshotter: 'overlayfs' | 'native';
  readonly configFile: string;
  readonly logFile: string;
  readonly pidFile: string;
  /** PID of the running containerd, undefined while it is down. */
  readonly pid: number | undefined;
  /** Unplanned restarts so far. */
  readonly restarts: number;
  /** Resolves when the socket accepts connections (after a restart, too). */
  waitReady(timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL after timeoutMs; no restart afterwards. Shims and containers keep running. */
  stop(timeoutMs?: number): Promise<void>;
}

const BACKOFF_MAX_MS = 30_000;
/** A process that stayed up this long resets the backoff. */
const STABLE_MS = 60_000;

export function socketAccepts(socket: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socket);
    const t = setTimeout(() => { s.destroy(); resolve(false); }, timeoutMs);
    s.once('connect', () => { clearTimeout(t); s.end(); resolve(true); });
    s.once('error', () => { clearTimeout(t); resolve(false); });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** A containerd left running by an earlier agent (crash, SIGKILL) with our config: stop it by its PID. */
async function stopLeftover(pidFile: string, configFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return;
  const argv = cmdline(pid);
  if (!argv.some((a) => a.endsWith('containerd')) || !argv.includes(configFile)) return;
  signal(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (alive(pid)) signal(pid, 'SIGKILL');
}

function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export async function startContainerd(opts: StartContainerdOptions): Promise<ContainerdHandle> {
  const configFile = opts.configFile ?? join(opts.rootDir, 'config.toml');
  const logFile = opts.logFile ?? join(opts.rootDir, 'containerd.log');
  const pidFile = join(opts.stateDir, 'skiff-containerd.pid');
  for (const d of [opts.rootDir, opts.stateDir, opts.cniConfDir, dirname(opts.socket), dirname(configFile), dirname(logFile)]) {
    mkdirSync(d, { recursive: true });
  }
  const snapshotter = opts.snapshotter && opts.snapshotter !== 'auto' ? opts.snapshotter : pickSnapshotter(opts.rootDir);
  writeFileSync(configFile, renderContainerdConfig({
    rootDir: opts.rootDir,
    stateDir: opts.stateDir,
    socket: opts.socket,
    cniBinDir: opts.cniBinDir ?? '/usr/lib/cni',
    cniConfDir: opts.cniConfDir,
    sandboxImage: opts.sandboxImage,
    snapshotter,
    runcPath: opts.runcPath,
    extraToml: opts.extraToml,
  }));
  await stopLeftover(pidFile, configFile);

  const binary = opts.containerdPath ?? 'containerd';
  const readyTimeout = opts.readyTimeoutMs ?? 30_000;
  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  let backoffMs = 1000;
  let restartTimer: NodeJS.Timeout | undefined;
  let exited: Promise<void> = Promise.resolve();
  let ready: Promise<void> = Promise.resolve();

  const launch = (): void => {
    rmSync(opts.socket, { force: true });
    rmSync(opts.socket + '.ttrpc', { force: true });
    const fd = openSync(logFile, 'a');
    const startedAt = Date.now();
    const c = spawn(binary, ['--config', configFile], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child = c;
    if (c.pid) writeFileSync(pidFile, String(c.pid));
    let spawnError: Error | undefined;
    exited = new Promise((resolve) => {
      let done = false;
      const onGone = (code: number | null, sig: NodeJS.Signals | null): void => {
        if (done) return;
        done = true;
        if (child === c) child = undefined;
        resolve();
        if (stopping || spawnError) return; // a missing binary is not worth restarting
        opts.onExit?.(code, sig);
        if (opts.restart === false) return;
        if (Date.now() - startedAt > STABLE_MS) backoffMs = 1000;
        const delay = backoffMs;
        backoffMs = Math.min(backoffMs * 2, BACKOFF_MAX_MS);
        restartTimer = setTimeout(() => {
          restartTimer = undefined;
          if (stopping) return;
          restarts++;
          launch();
          ready.then(() => { if (child?.pid) opts.onRestart?.(child.pid, restarts); }, () => { /* the next exit retries */ });
        }, delay);
      };
      c.once('exit', onGone);
      // Spawn failures (ENOENT) emit 'error' and maybe no 'exit'.
      c.once('error', (err) => { if (!c.pid) { spawnError = err; onGone(null, null); } });
    });
    ready = waitSocket(c, readyTimeout, () => spawnError);
    ready.catch(() => { /* observed by waitReady() */ });
  };

  const waitSocket = async (c: ChildProcess, timeoutMs: number, failed: () => Error | undefined): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const err = failed();
      if (err) throw new Error(`cannot start ${binary}: ${err.message}`);
      if (c.exitCode !== null || c.signalCode !== null) {
        throw new Error(`containerd exited (${c.exitCode ?? c.signalCode}) before serving ${opts.socket}:\n${logTail(logFile)}`);
      }
      if (existsSync(opts.socket) && (await socketAccepts(opts.socket))) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`containerd did not serve ${opts.socket} within ${timeoutMs}ms:\n${logTail(logFile)}`);
  };

  launch();
  const handle: ContainerdHandle = {
    socket: opts.socket,
    snapshotter,
    configFile,
    logFile,
    pidFile,
    get pid() { return child?.pid; },
    get restarts() { return restarts; },
    waitReady: async (timeoutMs = readyTimeout) => {
      const deadline = Date.now() + timeoutMs;
      while (!child && !stopping && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50)); // between restarts
      await ready;
    },
    stop: async (timeoutMs = 10_000) => {
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      const c = child;
      if (c?.pid && c.exitCode === null && c.signalCode === null) {
        signal(c.pid, 'SIGTERM');
        const killTimer = setTimeout(() => { if (c.pid && c.exitCode === null) signal(c.pid, 'SIGKILL'); }, timeoutMs);
        await exited;
        clearTimeout(killTimer);
      }
      rmSync(pidFile, { force: true });
    },
  };
  try {
    await ready;
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}
