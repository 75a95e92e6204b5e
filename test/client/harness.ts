// Shared setup for client tests: a real API server (memory store) in this process, and a
// client for each transport (HTTPS via a kubeconfig, and in-process).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { writeKubeconfig } from '../../src/pki/index.js';
import http from 'node:http';
import { socketPair } from '../../src/apiserver/in-process.js';
import { Client, type InProcessConnector, type RestClientOptions } from '../../src/client/index.js';

export interface Harness {
  api: ApiServer;
  dir: string;
  kubeconfig: string;
  /** Builds a client over the named transport. */
  client(transport: 'https' | 'in-process', extra?: Partial<RestClientOptions>): Client;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'skiff-client-'));
  const api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
  const kubeconfig = join(dir, 'admin.kubeconfig');
  writeKubeconfig(kubeconfig, { server: api.url, caPem: api.pki.serverCaCertPem, certPem: api.pki.adminCertPem, keyPem: api.pki.adminKeyPem });
  const clients: Client[] = [];
  return {
    api,
    dir,
    kubeconfig,
    client(transport, extra = {}) {
      const opts: RestClientOptions =
        transport === 'https'
          ? { kubeconfig, component: 'skiff-test', ...extra }
          : { inProcess: { connect: (u) => api.connect(u), user: { name: 'system:admin', groups: ['system:masters'] } }, component: 'skiff-test', ...extra };
      const c = new Client(opts);
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.close();
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const TRANSPORTS = ['https', 'in-process'] as const;

/** Polls cond every few ms until it holds or timeoutMs passes. */
export async function eventually(cond: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A fake API server (any request handler) reachable through the in-process connector. */
export function fakeServer(handler: http.RequestListener): { connect: InProcessConnector; close(): void } {
  const server = http.createServer(handler);
  return {
    connect: () => {
      const [client, serverEnd] = socketPair();
      server.emit('connection', serverEnd);
      return client;
    },
    close: () => server.closeAllConnections(),
  };
}

export const ADMIN = { name: 'system:admin', groups: ['system:masters'] };
