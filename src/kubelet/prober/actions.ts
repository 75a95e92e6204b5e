// The actions probes and lifecycle hooks perform (upstream's prober/exec, http, tcp and the
// lifecycle handlers): exec in the container through the CRI, HTTP GET and TCP connect from
// the kubelet to the pod IP, and sleep.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { KObject } from '../../client/index.js';
import type { KubeletRuntime } from '../runtime/types.js';

export interface ActionResult {
  ok: boolean;
  output: string;
}

export interface ActionTarget {
  runtime: KubeletRuntime;
  containerId: string;
  container: KObject;
  podIP?: string;
}

/** A named port ("http") resolved against the container's ports. */
export function resolvePort(port: unknown, container: KObject): number {
  if (typeof port === 'number') return port;
  if (typeof port === 'string' && /^\d+$/.test(port)) return Number(port);
  const hit = (container.ports ?? []).find((p: KObject) => p.name === port);
  if (!hit) throw new Error(`couldn't find port ${String(port)} in container`);
  return hit.containerPort;
}

export async function execAction(t: ActionTarget, command: string[], timeoutSeconds: number): Promise<ActionResult> {
  try {
    const r = await t.runtime.execSync(t.containerId, command ?? [], timeoutSeconds);
    const output = Buffer.concat([r.stdout, r.stderr]).toString('utf8').slice(0, 10 * 1024);
    if (r.exitCode === 0) return { ok: true, output };
    return { ok: false, output: output ? output : `command ${JSON.stringify((command ?? []).join(' '))} exited with ${r.exitCode}: ` };
  } catch (e) {
    const msg = (e as Error).message;
    if (/DEADLINE|timeout|timed out/i.test(msg)) return { ok: false, output: `command ${JSON.stringify((command ?? []).join(' '))} timed out` };
    return { ok: false, output: msg };
  }
}

export function httpGetAction(t: ActionTarget, get: KObject, timeoutSeconds: number): Promise<ActionResult> {
  return new Promise((resolve) => {
    let port: number;
    try {
      port = resolvePort(get.port, t.container);
    } catch (e) {
      return resolve({ ok: false, output: (e as Error).message });
    }
    const host: string = get.host || t.podIP || '';
    if (!host) return resolve({ ok: false, output: 'pod has no IP' });
    const scheme = String(get.scheme ?? 'HTTP').toUpperCase();
    const path: string = get.path ? (get.path.startsWith('/') ? get.path : `/${get.path}`) : '/';
    const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.32', Accept: '*/*' };
    for (const h of get.httpHeaders ?? []) headers[h.name] = h.value;
    const url = `${scheme === 'HTTPS' ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
    const mod = scheme === 'HTTPS' ? https : http;
    const req = mod.get(url, { headers, timeout: timeoutSeconds * 1000, rejectUnauthorized: false, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < 10 * 1024) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => {
        const code = res.statusCode ?? 0;
        const body = Buffer.concat(chunks).toString('utf8').slice(0, 10 * 1024);
        if (code >= 200 && code < 400) resolve({ ok: true, output: body });
        else resolve({ ok: false, output: `HTTP probe failed with statuscode: ${code}` });
      });
      res.on('error', (e) => resolve({ ok: false, output: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`)));
    req.on('error', (e) => resolve({ ok: false, output: e.message.startsWith('Get ') ? e.message : `Get "${url}": ${e.message}` }));
  });
}

export function tcpAction(t: ActionTarget, tcp: KObject, timeoutSeconds: number): Promise<ActionResult> {
  return new Promise((resolve) => {
    let port: number;
    try {
      port = resolvePort(tcp.port, t.container);
    } catch (e) {
      return resolve({ ok: false, output: (e as Error).message });
    }
    const host: string = tcp.host || t.podIP || '';
    if (!host) return resolve({ ok: false, output: 'pod has no IP' });
    const sock = net.connect({ host, port, timeout: timeoutSeconds * 1000 });
    sock.once('connect', () => {
      sock.destroy();
      resolve({ ok: true, output: '' });
    });
    sock.once('timeout', () => {
      sock.destroy();
      resolve({ ok: false, output: `dial tcp ${host}:${port}: i/o timeout` });
    });
    sock.once('error', (e) => resolve({ ok: false, output: `dial tcp ${host}:${port}: ${e.message}` }));
  });
}

/** Runs a probe's or hook's handler (exec, httpGet, tcpSocket, sleep). */
export async function runAction(t: ActionTarget, handler: KObject, timeoutSeconds: number): Promise<ActionResult> {
  if (handler.exec) return execAction(t, handler.exec.command, timeoutSeconds);
  if (handler.httpGet) return httpGetAction(t, handler.httpGet, timeoutSeconds);
  if (handler.tcpSocket) return tcpAction(t, handler.tcpSocket, timeoutSeconds);
  if (handler.sleep) {
    await new Promise((r) => setTimeout(r, Math.min(handler.sleep.seconds ?? 0, timeoutSeconds) * 1000));
    return { ok: true, output: '' };
  }
  if (handler.grpc) return { ok: false, output: 'gRPC probes are not supported by this kubelet' };
  return { ok: false, output: 'missing probe handler' };
}
