// Shared bits of the end-to-end tests: fixture paths, raw HTTPS with the kubeconfig's admin
// certificate, kubectl binaries for version skew, and polling.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

/** Repository root (this file runs from dist/test/e2e). */
export const ROOT = resolve(new URL('.', import.meta.url).pathname, '../../..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');

export function fixture(name: string): string {
  return join(FIXTURES, name);
}

export interface Credentials {
  ca: string;
  cert: string;
  key: string;
  server: string;
}

/** The admin client certificate, key and CA from a kubeconfig written by `skiff server`. */
export function credentials(kubeconfig: string): Credentials {
  const kc = parseYaml(readFileSync(kubeconfig, 'utf8'));
  const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
  return {
    ca: b64(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b64(kc.users[0].user['client-certificate-data']),
    key: b64(kc.users[0].user['client-key-data']),
    server: kc.clusters[0].cluster.server,
  };
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

/** One HTTPS request with the admin certificate; keep-alive agent per credentials. */
export function makeClient(c: Credentials, opts: { maxSockets?: number } = {}) {
  const url = new URL(c.server);
  const agent = new https.Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 16, ca: c.ca, cert: c.cert, key: c.key });
  function request(method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<RawResponse> {
    return new Promise((res, rej) => {
      const buf = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body);
      const req = https.request(
        {
          host: url.hostname,
          port: url.port,
          method,
          path,
          agent,
          headers: {
            Accept: 'application/json',
            ...(buf ? { 'Content-Type': 'application/json', 'Content-Length': String(buf.length) } : {}),
            ...headers,
          },
        },
        (r) => {
          const chunks: Buffer[] = [];
          r.on('data', (d: Buffer) => chunks.push(d));
          r.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            res({ status: r.statusCode ?? 0, headers: r.headers, text, json: () => JSON.parse(text) });
          });
          r.on('error', rej);
        },
      );
      req.on('error', rej);
      req.end(buf);
    });
  }
  return { request, close: () => agent.destroy() };
}

/** Path of a kubectl of another minor version (on the PATH, else next to the default kubectl). */
export function kubectlBinary(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  for (const dir of ['/usr/lib/google-cloud-sdk/bin', '/usr/local/bin']) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  return name;
}

/** Polls fn until it returns a truthy value (returned) or the timeout passes (throws). */
export async function waitUntil<T>(fn: () => T | Promise<T>, what: string, timeoutMs = 10_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls fn until it returns something other than undefined/false (returned); errors count as
 * "not yet" and the last one is quoted when the timeout passes.
 */
export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
    await sleep(everyMs);
  }
}

export interface BackgroundKubectl {
  pid: number;
  /** Everything written to stdout so far. */
  output(): string;
  stderr(): string;
  /** Resolves once stdout matches re (rejects after timeoutMs with what was seen). */
  waitForOutput(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Kills the process by its PID (idempotent). */
  kill(): Promise<void>;
}

/** Starts a long-running kubectl (e.g. `get -w`, `wait`) against kubeconfig. */
export function spawnKubectl(kubeconfig: string, args: string[], binary = 'kubectl'): BackgroundKubectl {
  const proc = spawn(binary, args, { env: { ...process.env, KUBECONFIG: kubeconfig }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    pid: proc.pid!,
    output: () => out,
    stderr: () => err,
    exited,
    async waitForOutput(re, timeoutMs = 10_000) {
      await waitUntil(() => re.test(out), `kubectl ${args.join(' ')} to print ${re} (stdout so far: ${JSON.stringify(out)}, stderr: ${JSON.stringify(err)})`, timeoutMs, 25);
      return out;
    },
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) {
        process.kill(proc.pid!, 'SIGTERM');
        await exited;
      }
    },
  };
}

/** Minimal surface of a TestServer the setup helpers need. */
interface Kubectl {
  kubectl(args: string[], opts?: { input?: string }): Promise<{ code: number; stdout: string; stderr: string }>;
}

/**
 * Creates objects with `kubectl create -f -` from JSON. Test setup uses this rather than the
 * generator commands (`create namespace`, `create configmap`), which have tests of their own.
 */
export async function createObjects(s: Kubectl, ...objects: object[]): Promise<void> {
  // A stream of JSON documents, not a `kind: List`: kubectl validates
  // a List against OpenAPI v2, which kubectl-get tests separately.
  const input = objects.map((o) => JSON.stringify(o)).join('\n');
  const r = await s.kubectl(['create', '-f', '-'], { input });
  if (r.code !== 0) throw new Error(`kubectl create -f - failed (${r.code}): ${r.stderr}`);
}

export function namespace(name: string): object {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
}

export function configMap(name: string, ns: string, data: Record<string, string> = {}, labels?: Record<string, string>): object {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, ...(labels ? { labels } : {}) }, data };
}

/** GET http://host:port/path from this host (the node), with a hard timeout. */
export function hostGet(host: string, port: number, path: string, timeoutMs = 3000): Promise<string> {
  return new Promise((res, rej) => {
    const req = http.get({ host, port, path, timeout: timeoutMs, agent: false }, (r) => {
      let body = '';
      r.setEncoding('utf8');
      r.on('data', (d) => (body += d));
      r.on('end', () => (r.statusCode === 200 ? res(body) : rej(new Error(`HTTP ${r.statusCode}: ${body}`))));
    });
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', rej);
  });
}

