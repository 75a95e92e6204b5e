// Runs the real kubectl explain against a tiny HTTP server that serves our OpenAPI handler and
// minimal legacy discovery built from the same resource definitions. Skipped without kubectl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { builtinResources } from '../../src/api/registry.js';
import { serveOpenAPI } from '../../src/apiserver/openapi/index.js';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
const VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function discovery(path: string): unknown {
  if (path === '/api') return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] };
  if (path === '/version') return { major: '1', minor: '32', gitVersion: 'v1.32.0' };
  const groups = [...new Set(builtinResources.filter((r) => r.group).map((r) => r.group + '/' + r.version))];
  if (path === '/apis') {
    return {
      kind: 'APIGroupList', apiVersion: 'v1',
      groups: groups.map((gv) => {
        const [name, version] = gv.split('/');
        return { name, versions: [{ groupVersion: gv, version }], preferredVersion: { groupVersion: gv, version } };
      }),
    };
  }
  const m = /^\/(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(path);
  if (!m) return undefined;
  const group = m[2] ?? '';
  const version = m[1] ?? m[3];
  return {
    kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version,
    resources: builtinResources.filter((r) => r.group === group && r.version === version).map((r) => ({
      name: r.plural, singularName: r.singular, namespaced: r.namespaced, kind: r.kind, verbs: r.verbs ?? VERBS, shortNames: r.shortNames,
    })),
  };
}

test('kubectl explain reads our OpenAPI v3 documents', { skip: !hasKubectl && 'kubectl not installed' }, async () => {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const r = serveOpenAPI(url.pathname, url.searchParams, req.headers.accept ?? '');
    if (r) {
      res.writeHead(r.status, r.headers);
      res.end(r.body);
      return;
    }
    const body = discovery(url.pathname);
    res.writeHead(body ? 200 : 404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body ?? { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = mkdtempSync(join(tmpdir(), 'skiff-explain-'));
  try {
    const port = (server.address() as AddressInfo).port;
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, [
      'apiVersion: v1', 'kind: Config',
      `clusters: [{name: c, cluster: {server: "http://127.0.0.1:${port}"}}]`,
      'users: [{name: u, user: {}}]',
      'contexts: [{name: x, context: {cluster: c, user: u}}]',
      'current-context: x', '',
    ].join('\n'));
    const explain = (field: string) => new Promise<string>((resolve, reject) => {
      execFile('kubectl', ['explain', field, '--cache-dir', join(dir, 'cache')], { env: { ...process.env, KUBECONFIG: kubeconfig, HOME: dir }, timeout: 30_000 },
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
    });
    const containers = await explain('pod.spec.containers');
    assert.match(containers, /KIND:\s+Pod/);
    assert.match(containers, /FIELD: containers <\[\]Container>/);
    assert.match(containers, /image\s+<string>/);
    assert.match(containers, /name\s+<string> -required-/);
    assert.match(containers, /resources\s+<ResourceRequirements>/);
    const limits = await explain('pod.spec.containers.resources.limits');
    assert.match(limits, /FIELD: limits <map\[string\]Quantity>/);
    if (builtinResources.some((r) => r.group === 'apps' && r.kind === 'Deployment')) {
      const strategy = await explain('deployment.spec.strategy');
      assert.match(strategy, /GROUP:\s+apps/);
      assert.match(strategy, /rollingUpdate\s+<RollingUpdateDeployment>/);
    }
  } finally {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
