// `skiff agent` as a process: one-line errors, join-only (--no-kubelet) with kubectl working as
// system:node:<name>, and a full agent (kubelet on skiff's containerd) whose Node turns Ready.
// The full run targets a `skiff server` process when it serves the join endpoints, otherwise an
// in-process API server with the endpoints mounted on a front (test/agent/join-front.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { ensureJoinToken } from '../../src/apiserver/node-join.js';
import { formatJoinToken, parseJoinToken } from '../../src/agent/join-token.js';
import { containerdPaths } from '../../src/kubelet/containerd/paths.js';
import { teardownContainerdState } from '../../src/kubelet/containerd/cleanup.js';
import { freePort, startServer, type TestServer } from '../helpers/cluster.js';
import { containerdSkipReason } from '../helpers/containerd.js';
import { startJoinFront, type JoinFront } from './join-front.js';

const ROOT = resolve(new URL('.', import.meta.url).pathname, '../../..');
const SKIFF = join(ROOT, 'bin', 'skiff');
const CA_A = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
const noKubectl = spawnSync('kubectl', ['version', '--client']).status === 0 ? undefined : 'kubectl not found';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 60_000): Promise<Run> {
  return new Promise((res) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      res({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const skiffAgent = (args: string[]) => run(process.execPath, [SKIFF, 'agent', ...args]);

async function waitFor<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Status of GET path on an HTTPS server, without verifying it. */
function httpsStatus(url: string): Promise<number> {
  return new Promise((res) => {
    https.get(url, { rejectUnauthorized: false }, (r) => {
      r.resume();
      res(r.statusCode ?? 0);
    }).on('error', () => res(0));
  });
}

describe('skiff agent (process) against an in-process API server', () => {
  let dir: string;
  let api: ApiServer;
  let front: JoinFront;
  let token: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-agent-cli-'));
    api = await startApiServer({ dataDir: join(dir, 'server-data'), port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
    token = ensureJoinToken(join(dir, 'server-data'), api.pki);
    front = await startJoinFront(api, { pki: api.pki, token, dataDir: join(dir, 'server-data') });
  });
  after(async () => {
    await front?.close();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints one-line errors', async () => {
    const d = join(dir, 'errors');
    const secret = parseJoinToken(token).secret;
    const bad = await skiffAgent(['--server', front.url, '--token', `${token.split('::')[0]}::server:nope`, '--data-dir', d, '--no-kubelet']);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr, 'skiff agent: the server rejected the join token\n');
    const foreign = await skiffAgent(['--server', front.url, '--token', formatJoinToken(CA_A, secret), '--data-dir', d, '--no-kubelet']);
    assert.equal(foreign.stderr, "skiff agent: the server's CA does not match the token\n");
    const port = await freePort();
    const down = await skiffAgent(['--server', `https://127.0.0.1:${port}`, '--token', token, '--data-dir', d, '--no-kubelet', '--join-timeout', '0']);
    assert.equal(down.stderr, `skiff agent: cannot reach the server at https://127.0.0.1:${port}: ECONNREFUSED\n`);
    const malformed = await skiffAgent(['--server', front.url, '--token', 'K10zz::server:x', '--data-dir', d]);
    assert.match(malformed.stderr, /^skiff agent: invalid join token: [^\n]*\n$/);
    const noServer = await skiffAgent(['--token', token, '--data-dir', d]);
    assert.match(noServer.stderr, /^skiff agent: --server is required/);
    const http = await skiffAgent(['--server', 'http://127.0.0.1:1', '--token', token, '--data-dir', d]);
    assert.match(http.stderr, /must be an https:\/\/ URL/);
    assert.equal(existsSync(join(d, 'agent', 'kubelet.kubeconfig')), false);
  });

  it('--no-kubelet joins, and kubectl works with the agent kubeconfig as system:node:<name>', { skip: noKubectl }, async () => {
    const d = join(dir, 'join-only');
    const r = await skiffAgent(['--server', front.url, '--token', token, '--data-dir', d, '--node-name', 'cli-node', '--no-kubelet']);
    assert.equal(r.code, 0, r.stderr);
    const kubeconfig = join(d, 'agent', 'kubelet.kubeconfig');
    assert.match(r.stdout, /credentials in .*kubelet\.kubeconfig/);
    front.users.length = 0;
    const k = await run('kubectl', ['--kubeconfig', kubeconfig, 'get', 'nodes']);
    assert.equal(k.code, 0, k.stderr);
    assert.match(k.stdout + k.stderr, /No resources found/);
    assert.deepEqual([...new Set(front.users)], ['system:node:cli-node']);
    // A second run reuses the saved credentials: the same certificate stays.
    const cert = readFileSync(join(d, 'agent', 'client-kubelet.crt'), 'utf8');
    const again = await skiffAgent(['--server', front.url, '--token', token, '--data-dir', d, '--node-name', 'cli-node', '--no-kubelet']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(readFileSync(join(d, 'agent', 'client-kubelet.crt'), 'utf8'), cert);
  });
});

const containerdSkip = containerdSkipReason() ?? noKubectl;

describe('skiff agent (process) registers a Ready node', { skip: containerdSkip }, () => {
  const NODE = 'agent-e2e';
  let agentDir: string;
  let agent: ChildProcess | undefined;
  let agentLog = '';
  // Either a `skiff server` process or an in-process API server with a front.
  let server: TestServer | undefined;
  let inProcess: { dir: string; api: ApiServer; front: JoinFront } | undefined;
  let serverUrl: string;
  let token: string;
  let adminKubectl: (args: string[]) => Promise<Run>;

  before(async () => {
    agentDir = mkdtempSync(join(tmpdir(), 'skiff-agent-e2e-'));
    server = await startServer({ extraArgs: ['--disable-dns'] });
    const nodeToken = join(server.dataDir, 'server', 'node-token');
    if ((await httpsStatus(`${server.url}/skiff/v1/cacerts`)) === 200 && existsSync(nodeToken)) {
      serverUrl = server.url;
      token = readFileSync(nodeToken, 'utf8').trim();
      adminKubectl = (args) => server!.kubectl(args);
    } else {
      // The server does not serve the join endpoints (yet): use the in-process stand-in.
      await server.stop();
      server = undefined;
      const dir = mkdtempSync(join(tmpdir(), 'skiff-agent-e2e-server-'));
      const api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore(), writeKubeconfig: join(dir, 'admin.yaml') });
      token = ensureJoinToken(dir, api.pki);
      const front = await startJoinFront(api, { pki: api.pki, token, dataDir: dir });
      inProcess = { dir, api, front };
      serverUrl = front.url;
      adminKubectl = (args) => run('kubectl', ['--kubeconfig', join(dir, 'admin.yaml'), '--server', front.url, ...args]);
    }
  });

  after(async () => {
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      const exited = new Promise((r) => agent!.once('exit', r));
      agent.kill('SIGTERM');
      const t = setTimeout(() => agent!.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    }
    if (agentDir) {
      const p = containerdPaths(agentDir);
      teardownContainerdState({ rootDir: p.rootDir, stateDir: p.stateDir, socket: p.socket, removeDirs: true });
      rmSync(agentDir, { recursive: true, force: true });
    }
    await server?.stop();
    if (inProcess) {
      await inProcess.front.close();
      await inProcess.api.close();
      rmSync(inProcess.dir, { recursive: true, force: true });
    }
  });

  it('joins with the node token, runs the kubelet, and the Node becomes Ready', async (t) => {
    t.diagnostic(server ? 'against a skiff server process' : 'against an in-process API server (skiff server has no join endpoints yet)');
    agent = spawn(
      process.execPath,
      [SKIFF, 'agent', '--server', serverUrl, '--token', token, '--data-dir', agentDir, '--node-name', NODE,
        '--node-ip', '127.0.0.1', '--pod-cidr', '10.244.93.0/24', '--kubelet-port', '0', '--disable-kube-proxy'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    agent.stdout!.on('data', (d) => (agentLog += d));
    agent.stderr!.on('data', (d) => (agentLog += d));
    const ready = await waitFor(
      async () => {
        if (agent!.exitCode !== null) throw new Error(`skiff agent exited (${agent!.exitCode}):\n${agentLog}`);
        const r = await adminKubectl(['get', 'node', NODE, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
        return r.code === 0 && r.stdout === 'True' ? r.stdout : undefined;
      },
      `node ${NODE} Ready`,
      90_000,
    ).catch((e) => {
      throw new Error(`${(e as Error).message}\nagent log:\n${agentLog.slice(-4000)}`);
    });
    assert.equal(ready, 'True');
    assert.match(agentLog, /joined the cluster at/);
    const node = JSON.parse((await adminKubectl(['get', 'node', NODE, '-o', 'json'])).stdout);
    assert.deepEqual(node.status.addresses.find((a: { type: string }) => a.type === 'InternalIP'), { type: 'InternalIP', address: '127.0.0.1' });
    assert.equal(readFileSync(join(agentDir, 'agent', 'kubelet.kubeconfig'), 'utf8').includes(serverUrl), true);
  });
});
