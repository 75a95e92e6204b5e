// Chooses and opens the store backend from the --datastore-endpoint style setting.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Store } from './store.js';
import { MemoryStore } from './memory.js';
import { openSqliteStore } from './sqlite.js';
import { openEtcdStore } from './etcd.js';

/**
 * endpoint:
 * - undefined or '': sqlite at `${dataDir}/server/db/state.db`
 * - 'sqlite:///abs/path/file.db'
 * - 'etcd://h1:2379,h2:2379', 'http://h:2379' or a comma-separated list of such URLs
 * - 'memory://' (tests)
 */
export async function openStore(endpoint: string | undefined, dataDir: string): Promise<Store> {
  if (!endpoint) return openSqliteFile(join(dataDir, 'server', 'db', 'state.db'));
  if (endpoint.startsWith('memory://')) return new MemoryStore();
  if (endpoint.startsWith('sqlite://')) {
    const path = endpoint.slice('sqlite://'.length).split('?')[0];
    return openSqliteFile(path || join(dataDir, 'server', 'db', 'state.db'));
  }
  return openEtcdStore(etcdHosts(endpoint));
}

function openSqliteFile(path: string): Store {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  return openSqliteStore(path);
}

/** 'etcd://a:2379,b:2379' or 'http://a:2379,http://b:2379' → ['http://a:2379', 'http://b:2379']. */
export function etcdHosts(endpoint: string): string[] {
  const hosts: string[] = [];
  let scheme = 'http';
  for (const part of endpoint.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(part);
    if (m) scheme = m[1].toLowerCase();
    const rest = (m ? m[2] : part).replace(/\/+$/, '');
    if (scheme === 'https') throw new Error(`etcd over TLS is not supported yet: ${part}`);
    if (scheme !== 'etcd' && scheme !== 'http') throw new Error(`unsupported datastore endpoint ${part}`);
    if (!rest) throw new Error(`datastore endpoint ${part} names no host`);
    hosts.push(`http://${rest}`);
  }
  if (hosts.length === 0) throw new Error(`datastore endpoint ${endpoint} names no host`);
  return hosts;
}
