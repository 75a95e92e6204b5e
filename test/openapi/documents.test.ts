import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ResourceDef } from '../../src/api/types.js';
import { buildDocuments } from '../../src/apiserver/openapi/documents.js';
import { serveOpenAPI } from '../../src/apiserver/openapi/index.js';

const def = (group: string, kind: string, plural: string, namespaced: boolean, extra: Partial<ResourceDef> = {}): ResourceDef => ({
  group, version: 'v1', kind, plural, singular: kind.toLowerCase(), namespaced, columns: [], row: () => [], ...extra,
});
const RESOURCES: ResourceDef[] = [
  def('', 'Pod', 'pods', true, { subresources: { status: true, binding: true } }),
  def('', 'Node', 'nodes', false, { subresources: { status: true } }),
  def('apps', 'Deployment', 'deployments', true, { subresources: { status: true, scale: { specReplicasPath: 'spec.replicas', statusReplicasPath: 'status.replicas' } } }),
  def('rbac.authorization.k8s.io', 'ClusterRole', 'clusterroles', false),
];
const docs = buildDocuments(RESOURCES);
const v3 = (gv: string) => JSON.parse(docs.v3.get(gv)!.body.toString());

test('v3 index lists each group version with a content hash', () => {
  const index = JSON.parse(docs.v3Index.body.toString());
  assert.deepEqual(Object.keys(index.paths), ['api/v1', 'apis/apps/v1', 'apis/rbac.authorization.k8s.io/v1']);
  const url: string = index.paths['api/v1'].serverRelativeURL;
  assert.match(url, /^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]{128}$/);
  assert.equal(url.split('hash=')[1], docs.v3.get('api/v1')!.etag);
});

test('pod PATCH operation carries the GVK and the fieldValidation query parameter', () => {
  const doc = v3('api/v1');
  assert.equal(doc.openapi, '3.0.0');
  const item = doc.paths['/api/v1/namespaces/{namespace}/pods/{name}'];
  assert.deepEqual(item.patch['x-kubernetes-group-version-kind'], { group: '', version: 'v1', kind: 'Pod' });
  const names = item.patch.parameters.filter((p: any) => p.in === 'query').map((p: any) => p.name);
  for (const n of ['dryRun', 'fieldManager', 'fieldValidation', 'force']) assert.ok(names.includes(n), n);
  assert.ok(item.patch.requestBody.content['application/strategic-merge-patch+json']);
  assert.equal(item.patch.operationId, 'patchCoreV1NamespacedPod');
  assert.ok(doc.paths['/api/v1/namespaces/{namespace}/pods']);
  assert.ok(doc.paths['/api/v1/pods'].get, 'list across namespaces');
  assert.ok(doc.paths['/api/v1/namespaces/{namespace}/pods/{name}/status'].patch);
  assert.ok(doc.paths['/api/v1/nodes/{name}'].get, 'cluster-scoped path');
  const scale = v3('apis/apps/v1').paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale'];
  assert.deepEqual(scale.patch['x-kubernetes-group-version-kind'], { group: 'autoscaling', version: 'v1', kind: 'Scale' });
});

test('Pod schema: GVK, containers merged by name, refs resolvable', () => {
  const doc = v3('api/v1');
  const schemas = doc.components.schemas;
  const pod = schemas['io.k8s.api.core.v1.Pod'];
  assert.deepEqual(pod['x-kubernetes-group-version-kind'], [{ group: '', version: 'v1', kind: 'Pod' }]);
  const containers = schemas['io.k8s.api.core.v1.PodSpec'].properties.containers;
  assert.equal(containers['x-kubernetes-patch-merge-key'], 'name');
  assert.equal(containers['x-kubernetes-patch-strategy'], 'merge');
  assert.equal(containers['x-kubernetes-list-type'], 'map');
  assert.deepEqual(containers['x-kubernetes-list-map-keys'], ['name']);
  assert.deepEqual(schemas['io.k8s.api.core.v1.PodSpec'].required, ['containers']);
  assert.deepEqual(schemas['io.k8s.api.core.v1.ServicePort'], undefined, 'only reachable schemas');
  // Every $ref points at a schema in the same document.
  const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
  for (const r of new Set(refs)) {
    const name = r.slice(8, -1).replace('#/components/schemas/', '');
    assert.ok(schemas[name], `dangling ${name}`);
  }
  assert.ok(schemas['io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions']['x-kubernetes-group-version-kind'].length >= 1);
});

test('explain-style lookup of pod.spec.containers', () => {
  const doc = v3('api/v1');
  const schemas = doc.components.schemas;
  const byGVK = Object.values<any>(schemas).find((s) => s['x-kubernetes-group-version-kind']?.some((g: any) => g.kind === 'Pod' && g.group === ''));
  const resolve = (s: any): any => {
    if (s.$ref) return schemas[s.$ref.replace('#/components/schemas/', '')];
    if (s.allOf) return resolve(s.allOf[0]);
    return s;
  };
  const spec = resolve(byGVK.properties.spec);
  const containers = spec.properties.containers;
  assert.equal(containers.type, 'array');
  const container = resolve(containers.items);
  assert.equal(container.properties.image.type, 'string');
  assert.equal(resolve(container.properties.ports.items).properties.containerPort.format, 'int32');
  assert.equal(container.properties.resources.$ref, '#/components/schemas/io.k8s.api.core.v1.ResourceRequirements');
  const limits = resolve(container.properties.resources).properties.limits;
  assert.equal(limits.additionalProperties.$ref, '#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity');
});

test('v2 document is swagger 2.0 with definitions and paths', () => {
  const doc = JSON.parse(docs.v2.body.toString());
  assert.equal(doc.swagger, '2.0');
  assert.equal(doc.definitions['io.k8s.api.apps.v1.Deployment']['x-kubernetes-group-version-kind'][0].kind, 'Deployment');
  assert.equal(doc.definitions['io.k8s.api.core.v1.PodSpec'].properties.containers.items.$ref, '#/definitions/io.k8s.api.core.v1.Container');
  const patch = doc.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
  assert.ok(patch.parameters.some((p: any) => p.name === 'fieldValidation' && p.in === 'query'));
  assert.ok(patch.parameters.some((p: any) => p.in === 'body'));
});

test('serveOpenAPI: routing, caching headers, hash redirects, accept', () => {
  const q = new URLSearchParams();
  assert.equal(serveOpenAPI('/api/v1', q, ''), undefined);
  const index = serveOpenAPI('/openapi/v3', q, 'application/json')!;
  assert.equal(index.status, 200);
  const paths = JSON.parse(index.body.toString()).paths;
  const [gv, entry] = Object.entries<any>(paths)[0];
  const url = new URL(entry.serverRelativeURL, 'http://x');
  const doc = serveOpenAPI(url.pathname, url.searchParams, 'application/json')!;
  assert.equal(doc.status, 200);
  assert.equal(doc.headers['Cache-Control'], 'public, immutable');
  assert.equal(doc.headers.ETag, `"${url.searchParams.get('hash')}"`);
  const stale = serveOpenAPI('/openapi/v3/' + gv, new URLSearchParams({ hash: 'ABC' }), 'application/json')!;
  assert.equal(stale.status, 301);
  assert.equal(stale.headers.Location, entry.serverRelativeURL);
  assert.equal(serveOpenAPI('/openapi/v3/apis/nope/v1', q, '')!.status, 404);
  assert.equal(serveOpenAPI('/openapi/v2', q, 'application/json')!.status, 200);
  const pb = serveOpenAPI('/openapi/v2', q, 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf')!;
  assert.equal(pb.status, 200);
  assert.equal(pb.headers['Content-Type'], 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
  assert.equal(serveOpenAPI('/openapi/v2', q, 'application/xml')!.status, 406);
});
