// A minimal HTTPS client for benchmarks: admin client-certificate credentials from a kubeconfig,
// one keep-alive agent (one TCP/TLS connection) per simulated client, and newline-delimited
// watch streams. Plain node:https so the client adds as little overhead as possible.
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

export interface Credentials {
  server: URL;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** Reads the current context's server URL, CA and client certificate from a kubeconfig. */
export function loadKubeconfig(path: string): Credentials {
  const cfg = parseYaml(readFileSync(path, 'utf8'));
  const ctx = cfg.contexts.find((c: any) => c.name === cfg['current-context']).context;
  const cluster = cfg.clusters.find((c: any) => c.name === ctx.cluster).cluster;
  const user = cfg.users.find((u: any) => u.name === ctx.user).user;
  const b64 = (s: string) => Buffer.from(s, 'base64');
  return {
    server: new URL(cluster.server),
    ca: b64(cluster['certificate-authority-data']),
    cert: b64(user['client-certificate-data']),
    key: b64(user['client-key-data']),
  };
}

export interface Response {
  status: number;
  body: Buffer;
}

export class KubeClient {
  readonly agent: https.Agent;

  /** maxSockets 1: every request of this client reuses its single connection. */
  constructor(
    private readonly creds: Credentials,
    maxSockets = 1,
  ) {
    this.agent = new https.Agent({ keepAlive: true, maxSockets, ca: creds.ca, cert: creds.cert, key: creds.key });
  }

  request(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
    const payload = body === undefined ? undefined : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: this.creds.server.hostname,
          port: this.creds.server.port,
          method,
          path,
          agent: this.agent,
          headers: {
            Accept: 'application/json',
            ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': payload.length } : {}),
            ...headers,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks) }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like request, but throws unless the status is 2xx; returns the parsed JSON body. */
  async json(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<any> {
    const r = await this.request(method, path, body, headers);
    if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path}: HTTP ${r.status}: ${r.body.toString('utf8').slice(0, 500)}`);
    return JSON.parse(r.body.toString('utf8'));
  }

  /**
   * Opens a watch and calls onLine with each raw event line (a string; parsing is left to the
   * caller so fan-out benchmarks can skip it). Resolves once the response headers arrived.
   */
  watch(path: string, onLine: (line: string) => void): Promise<{ close(): void }> {
    return new Promise((resolve, reject) => {
      const req = https.request(
        { host: this.creds.server.hostname, port: this.creds.server.port, method: 'GET', path, agent: this.agent, headers: { Accept: 'application/json' } },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`watch ${path}: HTTP ${res.statusCode}`));
            return;
          }
          res.setEncoding('utf8');
          let buf = '';
          res.on('data', (chunk: string) => {
            buf += chunk;
            let start = 0;
            let nl: number;
            while ((nl = buf.indexOf('\n', start)) >= 0) {
              if (nl > start) onLine(buf.slice(start, nl));
              start = nl + 1;
            }
            buf = buf.slice(start);
          });
          res.on('error', () => {});
          resolve({ close: () => req.destroy() });
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
