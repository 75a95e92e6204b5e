// metrics.k8s.io/v1beta1 in the OpenAPI documents: the definitions under metrics-server's names
// with their group-version-kinds, every ref resolvable in /openapi/v2 and in the group's own
// /openapi/v3 document, the variant without the metrics API, and the real kubectl explain
// (OpenAPI v3, and v2 through its protobuf encoding) against `skiff server`.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { builtinResources } from '../../src/api/registry.js';
import { buildDocuments } from '../../src/apiserver/openapi/documents.js';
import { serveOpenAPI } from '../../src/apiserver/openapi/index.js';
import { encodeOpenAPIv2 } from '../../src/apiserver/openapi/v2-protobuf.js';
import { metricsOpenAPI } from '../../src/metrics/openapi.js';
import { startServer, type TestServer } from '../helpers/cluster.js';

const P = 'io.k8s.metrics.pkg.apis.metrics.v1beta1.';
const GV = 'apis/metrics.k8s.io/v1beta1';
const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

/** Every $ref in doc names a schema of schemas. */
function assertRefsResolve(doc: unknown, schemas: Record<string, unknown>, prefix: string): void {
  const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
  assert.ok(refs.length > 0);
  for (const r of new Set(refs)) {
    const name = r.slice(8, -1).replace(prefix, '');
    assert.ok(schemas[name], `dangling ${name}`);
  }
}

describe('metrics.k8s.io OpenAPI definitions', () => {
  const docs = buildDocuments(builtinResources, [metricsOpenAPI]);

  it('v3: a document for metrics.k8s.io/v1beta1 with the kinds, their GVKs and paths', () => {
    const index = JSON.parse(docs.v3Index.body.toString());
    assert.match(index.paths[GV].serverRelativeURL, /^\/openapi\/v3\/apis\/metrics\.k8s\.io\/v1beta1\?hash=[0-9A-F]{128}$/);
    const doc = JSON.parse(docs.v3.get(GV)!.body.toString());
    const schemas = doc.components.schemas;
    for (const kind of ['NodeMetrics', 'NodeMetricsList', 'PodMetrics', 'PodMetricsList']) {
      assert.deepEqual(schemas[P + kind]['x-kubernetes-group-version-kind'], [{ group: 'metrics.k8s.io', version: 'v1beta1', kind }], kind);
    }
    const pm = schemas[P + 'PodMetrics'];
    assert.deepEqual(Object.keys(pm.properties).sort(), ['apiVersion', 'containers', 'kind', 'metadata', 'timestamp', 'window']);
    assert.deepEqual(pm.required, ['timestamp', 'window', 'containers']);
    assert.equal(pm.properties.containers.items.$ref, `#/components/schemas/${P}ContainerMetrics`);
    assert.deepEqual(pm.properties.timestamp.allOf, [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Time' }]);
    assert.deepEqual(pm.properties.window.allOf, [{ $ref: '#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.Duration' }]);
    const cm = schemas[P + 'ContainerMetrics'];
    assert.deepEqual(cm.required, ['name', 'usage']);
    assert.equal(cm.properties.usage.additionalProperties.$ref, '#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity');
    const nm = schemas[P + 'NodeMetrics'];
    assert.deepEqual(Object.keys(nm.properties).sort(), ['apiVersion', 'kind', 'metadata', 'timestamp', 'usage', 'window']);
    assert.ok(schemas['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'].properties.labels);
    assertRefsResolve(doc, schemas, '#/components/schemas/');
    // get and list only, with the metrics definitions as responses.
    const pods = doc.paths['/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods'];
    assert.deepEqual(Object.keys(pods).filter((k) => k !== 'parameters'), ['get']);
    assert.equal(pods.get.responses['200'].content['application/json'].schema.$ref, `#/components/schemas/${P}PodMetricsList`);
    assert.deepEqual(pods.get['x-kubernetes-group-version-kind'], { group: 'metrics.k8s.io', version: 'v1beta1', kind: 'PodMetrics' });
    assert.equal(doc.paths['/apis/metrics.k8s.io/v1beta1/nodes/{name}'].get.responses['200'].content['application/json'].schema.$ref, `#/components/schemas/${P}NodeMetrics`);
    assert.ok(doc.paths['/apis/metrics.k8s.io/v1beta1/pods'].get, 'pods of all namespaces');
  });

  it('v2: the definitions and paths in the one document, refs resolvable, protobuf encodes them', () => {
    const doc = JSON.parse(docs.v2.body.toString());
    assert.equal(doc.definitions[P + 'PodMetrics']['x-kubernetes-group-version-kind'][0].kind, 'PodMetrics');
    assert.equal(doc.definitions[P + 'PodMetrics'].properties.window.$ref, '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Duration');
    assert.equal(doc.definitions[P + 'NodeMetricsList'].properties.items.items.$ref, `#/definitions/${P}NodeMetrics`);
    assert.equal(doc.paths['/apis/metrics.k8s.io/v1beta1/nodes'].get.responses['200'].schema.$ref, `#/definitions/${P}NodeMetricsList`);
    assert.ok(doc.definitions['io.k8s.api.core.v1.Pod'], 'the built-in kinds stay');
    assertRefsResolve(doc, doc.definitions, '#/definitions/');
    // DeleteOptions is registered in the metrics group version too, as in every served one.
    assert.ok(doc.definitions['io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions']['x-kubernetes-group-version-kind'].some((g: { group: string }) => g.group === 'metrics.k8s.io'));
    const pb = encodeOpenAPIv2(doc);
    assert.ok(pb.body.includes(Buffer.from(P + 'ContainerMetrics')));
  });

  it('serveOpenAPI describes metrics.k8s.io unless told the API is off', () => {
    const q = new URLSearchParams();
    const index = (opts?: { metrics?: boolean }) => JSON.parse(serveOpenAPI('/openapi/v3', q, 'application/json', opts)!.body.toString()).paths;
    assert.ok(index()[GV]);
    assert.equal(index({ metrics: false })[GV], undefined);
    assert.ok(index({ metrics: false })['api/v1']);
    assert.equal(serveOpenAPI('/openapi/v3/' + GV, q, '', { metrics: false })!.status, 404);
    const v2 = JSON.parse(serveOpenAPI('/openapi/v2', q, 'application/json')!.body.toString());
    assert.ok(v2.definitions[P + 'NodeMetrics']);
    const v2off = JSON.parse(serveOpenAPI('/openapi/v2', q, 'application/json', { metrics: false })!.body.toString());
    assert.equal(v2off.definitions[P + 'NodeMetrics'], undefined);
  });
});

describe('kubectl explain of the metrics kinds against skiff server', { skip: !hasKubectl && 'kubectl not installed' }, () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ apiOnly: true });
  });
  after(async () => {
    await server?.stop();
  });

  it('explain podmetrics.containers (OpenAPI v3)', async () => {
    const out = await server.k('explain', 'podmetrics.containers');
    assert.match(out, /GROUP:\s+metrics\.k8s\.io/);
    assert.match(out, /KIND:\s+PodMetrics/);
    assert.match(out, /VERSION:\s+v1beta1/);
    assert.match(out, /FIELD: containers <\[\]ContainerMetrics>/);
    assert.match(out, /name\s+<string> -required-/);
    assert.match(out, /usage\s+<map\[string\]Quantity> -required-/);
  });

  it('explain nodemetrics and podmetrics (OpenAPI v3), and fields below them', async () => {
    const node = await server.k('explain', 'nodemetrics');
    assert.match(node, /KIND:\s+NodeMetrics/);
    for (const f of [/metadata\s+<ObjectMeta>/, /timestamp\s+<string> -required-/, /usage\s+<map\[string\]Quantity> -required-/, /window\s+<string> -required-/]) assert.match(node, f);
    const pod = await server.k('explain', 'podmetrics', '--api-version=metrics.k8s.io/v1beta1');
    assert.match(pod, /containers\s+<\[\]ContainerMetrics> -required-/);
    const labels = await server.k('explain', 'podmetrics.metadata.labels');
    assert.match(labels, /FIELD: labels <map\[string\]string>/);
  });

  it('explain with --output=plaintext-openapiv2 (the v2 document, as protobuf)', async () => {
    const out = await server.k('explain', 'podmetrics.containers', '--output=plaintext-openapiv2');
    assert.match(out, /KIND:\s+PodMetrics/);
    assert.match(out, /RESOURCE: containers <\[\]Object>|FIELD:\s+containers <\[\]Object>/);
    assert.match(out, /usage\s+<map\[string\]string> -required-/);
  });
});
