// Runs the real kubectl's typed `create` commands against a tiny loopback HTTP server that records their
// protobuf request bodies, then checks each decoded body against the JSON the same command prints with
// --dry-run=client -o json. Skipped when kubectl is not installed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeK8sProtobuf } from '../../src/apiserver/protobuf/index.js';

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

interface Recorded { path: string; contentType: string; body: Buffer; decoded?: Record<string, unknown>; error?: string }

const resource = (name: string, kind: string, namespaced: boolean) => ({ name, singularName: '', namespaced, kind, verbs: ['create', 'get', 'list', 'delete'] });
const GROUPS = ['apps', 'batch', 'rbac.authorization.k8s.io', 'policy', 'scheduling.k8s.io'];
const DISCOVERY: Record<string, unknown> = {
  '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '127.0.0.1' }] },
  '/apis': {
    kind: 'APIGroupList', apiVersion: 'v1',
    groups: GROUPS.map((g) => ({ name: g, versions: [{ groupVersion: g + '/v1', version: 'v1' }], preferredVersion: { groupVersion: g + '/v1', version: 'v1' } })),
  },
  '/api/v1': {
    kind: 'APIResourceList', groupVersion: 'v1',
    resources: [resource('configmaps', 'ConfigMap', true), resource('secrets', 'Secret', true), resource('namespaces', 'Namespace', false),
      resource('services', 'Service', true), resource('serviceaccounts', 'ServiceAccount', true), resource('resourcequotas', 'ResourceQuota', true),
      resource('pods', 'Pod', true),
      { name: 'serviceaccounts/token', namespaced: true, group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest', verbs: ['create'] }],
  },
  '/apis/apps/v1': { kind: 'APIResourceList', groupVersion: 'apps/v1', resources: [resource('deployments', 'Deployment', true)] },
  '/apis/batch/v1': { kind: 'APIResourceList', groupVersion: 'batch/v1', resources: [resource('jobs', 'Job', true), resource('cronjobs', 'CronJob', true)] },
  '/apis/rbac.authorization.k8s.io/v1': {
    kind: 'APIResourceList', groupVersion: 'rbac.authorization.k8s.io/v1',
    resources: [resource('roles', 'Role', true), resource('rolebindings', 'RoleBinding', true), resource('clusterroles', 'ClusterRole', false)],
  },
  '/apis/policy/v1': { kind: 'APIResourceList', groupVersion: 'policy/v1', resources: [resource('poddisruptionbudgets', 'PodDisruptionBudget', true)] },
  '/apis/scheduling.k8s.io/v1': { kind: 'APIResourceList', groupVersion: 'scheduling.k8s.io/v1', resources: [resource('priorityclasses', 'PriorityClass', false)] },
};

/**
 * Every key of want is in got with an equal value; keys only in got must hold zero values (0, false, or
 * objects of zero values): Go's protobuf marshaler writes non-pointer scalars that its JSON encoder omits.
 */
function assertMatchesJson(got: unknown, want: unknown, path = '$'): void {
  if (want === null || typeof want !== 'object') return assert.deepEqual(got, want, path);
  if (Array.isArray(want)) {
    assert.ok(Array.isArray(got) && got.length === want.length, `${path}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
    want.forEach((w, i) => assertMatchesJson((got as unknown[])[i], w, `${path}[${i}]`));
    return;
  }
  assert.ok(got !== null && typeof got === 'object' && !Array.isArray(got), `${path}: expected an object, got ${JSON.stringify(got)}`);
  const g = got as Record<string, unknown>;
  for (const [k, w] of Object.entries(want)) assertMatchesJson(g[k], w, `${path}.${k}`);
  for (const [k, v] of Object.entries(g)) if (!(k in want)) assert.ok(isZero(v), `${path}.${k}: unexpected ${JSON.stringify(v)}`);
}
function isZero(v: unknown): boolean {
  if (v === 0 || v === false) return true;
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every(isZero);
}

describe('real kubectl protobuf request bodies', { skip: hasKubectl ? false : 'kubectl is not installed' }, () => {
  let server: Server;
  let dir: string;
  const recorded: Recorded[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-pb-'));
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const path = (req.url ?? '').split('?')[0];
        const reply = (code: number, body: unknown) => {
          res.writeHead(code, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (req.method === 'GET' && DISCOVERY[path]) return reply(200, DISCOVERY[path]);
        if (req.method === 'POST') {
          const rec: Recorded = { path, contentType: req.headers['content-type'] ?? '', body: Buffer.concat(chunks) };
          recorded.push(rec);
          try {
            rec.decoded = decodeK8sProtobuf(rec.body);
          } catch (e) {
            rec.error = (e as Error).message;
            return reply(400, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 400, reason: 'BadRequest', message: rec.error });
          }
          const out: Record<string, unknown> = { ...rec.decoded };
          if (out.kind === 'TokenRequest') out.status = { token: 'x.y.z', expirationTimestamp: '2030-01-01T00:00:00Z' };
          if (out.kind === 'SelfSubjectAccessReview') out.status = { allowed: true };
          return reply(201, out);
        }
        reply(404, { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404, reason: 'NotFound', message: 'not found' });
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as { port: number }).port;
    writeFileSync(join(dir, 'config'), [
      'apiVersion: v1', 'kind: Config', 'current-context: t',
      'clusters:', '- name: t', '  cluster:', `    server: http://127.0.0.1:${port}`,
      'contexts:', '- name: t', '  context:', '    cluster: t', '    user: t', '    namespace: default',
      'users:', '- name: t', '  user: {}', '',
    ].join('\n'));
    writeFileSync(join(dir, 'blob.bin'), Buffer.from([0, 1, 2, 0xfe, 0xff]));
  });

  after(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile('kubectl', ['--kubeconfig', join(dir, 'config'), '--cache-dir', join(dir, 'cache'), ...args],
        { timeout: 60_000, env: { ...process.env, KUBECONFIG: join(dir, 'config'), HOME: dir } },
        (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
    });
  }

  /** Runs a create command for real and with --dry-run=client -o json; returns the decoded body and the JSON. */
  async function capture(args: string[], dryRun = true): Promise<{ rec: Recorded; json?: Record<string, unknown> }> {
    const before = recorded.length;
    const r = await kubectl(args);
    assert.equal(recorded.length, before + 1, `kubectl ${args.join(' ')} sent no body: ${r.stderr}`);
    const rec = recorded[recorded.length - 1];
    assert.equal(rec.error, undefined, `decode failed: ${rec.error}`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(rec.contentType, 'application/vnd.kubernetes.protobuf');
    if (!dryRun) return { rec };
    const d = await kubectl([args[0], '--dry-run=client', '-o', 'json', ...args.slice(1)]); // flags before any `--`
    assert.equal(d.code, 0, d.stderr);
    return { rec, json: JSON.parse(d.stdout) };
  }

  const COMMANDS: [string, string[]][] = [
    ['configmap with literal and binary file', ['create', 'configmap', 'cm1', '--from-literal=a=b', '--from-literal=empty=', '--from-file=blob=BLOB']],
    ['secret generic', ['create', 'secret', 'generic', 's1', '--from-literal=password=hunter2', '--type=Opaque']],
    ['secret docker-registry', ['create', 'secret', 'docker-registry', 'reg', '--docker-server=r.example', '--docker-username=u', '--docker-password=p']],
    ['namespace', ['create', 'namespace', 'ns1']],
    ['serviceaccount', ['create', 'serviceaccount', 'sa1']],
    ['deployment with replicas 0 and a port', ['create', 'deployment', 'd1', '--image=nginx:1', '--replicas=0', '--port=80']],
    ['job with a command', ['create', 'job', 'j1', '--image=busybox', '--', 'sh', '-c', 'echo hi']],
    ['cronjob', ['create', 'cronjob', 'cj1', '--image=busybox', '--schedule=*/5 * * * *']],
    ['service clusterip with named target port', ['create', 'service', 'clusterip', 'svc1', '--tcp=80:8080', '--tcp=443:https']],
    ['service nodeport', ['create', 'service', 'nodeport', 'svc2', '--tcp=80:8080', '--node-port=30080']],
    ['role', ['create', 'role', 'r1', '--verb=get,list', '--resource=pods']],
    ['rolebinding', ['create', 'rolebinding', 'rb1', '--role=r1', '--user=alice', '--serviceaccount=default:default']],
    ['poddisruptionbudget', ['create', 'pdb', 'pdb1', '--selector=app=x', '--min-available=50%']],
    ['priorityclass', ['create', 'priorityclass', 'pc1', '--value=1000', '--description=high']],
    ['resourcequota with quantities', ['create', 'quota', 'q1', '--hard=cpu=1,memory=1Gi,pods=10']],
  ];

  for (const [name, rawArgs] of COMMANDS) {
    test(`kubectl create ${name}`, async () => {
      const args = rawArgs.map((a) => a.replace('BLOB', join(dir, 'blob.bin')));
      const { rec, json } = await capture(args);
      assertMatchesJson(rec.decoded, json);
    });
  }

  test('kubectl create token (TokenRequest subresource)', async () => {
    const { rec } = await capture(['create', 'token', 'default', '--duration=1h', '--audience=api', '--bound-object-kind=Pod', '--bound-object-name=p1', '--bound-object-uid=u-1'], false);
    assert.equal(rec.path, '/api/v1/namespaces/default/serviceaccounts/default/token');
    assert.deepEqual(rec.decoded, {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest',
      metadata: { generation: 0, creationTimestamp: null },
      spec: { audiences: ['api'], expirationSeconds: 3600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p1', uid: 'u-1' } },
      status: { expirationTimestamp: null },
    });
  });

  test('kubectl auth can-i (SelfSubjectAccessReview)', async () => {
    const { rec } = await capture(['auth', 'can-i', 'get', 'pods', '--subresource=log'], false);
    assert.equal(rec.path, '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews');
    assert.deepEqual(rec.decoded, {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview',
      metadata: { generation: 0, creationTimestamp: null },
      spec: { resourceAttributes: { namespace: 'default', verb: 'get', resource: 'pods', subresource: 'log' } },
      status: { allowed: false, denied: false },
    });
  });
});
