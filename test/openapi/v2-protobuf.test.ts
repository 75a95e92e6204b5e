// The protobuf form of /openapi/v2: decoded again with the same gnostic descriptor table and turned
// back into swagger JSON, it must equal the JSON document (minus proto3's dropped zero values).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { Reader, WIRE_FIXED64, WIRE_LEN } from '../../src/apiserver/protobuf/wire.js';
import { serveOpenAPI, negotiateV2 } from '../../src/apiserver/openapi/index.js';
import { encodeOpenAPIv2, openAPIv2Messages, OPENAPI_V2_PROTOBUF } from '../../src/apiserver/openapi/v2-protobuf.js';

const PB_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
type Obj = Record<string, any>;

/** Generic decode of an openapi.v2 message into { protoFieldName: value } (repeated fields as arrays). */
function decode(name: string, r: Reader, end: number): Obj {
  const m = openAPIv2Messages().get(name)!;
  const byNumber = new Map([...m.values()].map((f) => [f.number, f]));
  const out: Obj = {};
  while (r.pos < end) {
    const tag = r.uint32();
    const f = byNumber.get(tag >>> 3);
    assert.ok(f, `${name}: unknown field ${tag >>> 3}`);
    let v: unknown;
    switch (f.type) {
      case 's': { const e = r.lengthEnd(); v = r.buf.toString('utf8', r.pos, e); r.pos = e; break; }
      case 'b': v = r.bool(); break;
      case 'i64': v = r.int64(); break;
      case 'd': assert.equal(tag & 7, WIRE_FIXED64); v = r.buf.readDoubleLE(r.pos); r.pos += 8; break;
      case 'y': { const e = r.lengthEnd(); v = r.buf.subarray(r.pos, e); r.pos = e; break; }
      default: assert.equal(tag & 7, WIRE_LEN); { const e = r.lengthEnd(); v = decode(f.type, r, e); r.pos = e; }
    }
    if (f.repeated) (out[f.name] ??= []).push(v);
    else out[f.name] = v;
  }
  return out;
}

const camel = (n: string) => (n === '_ref' ? '$ref' : n.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()));
const entries = (list: Obj[] | undefined, type: string) => (list ?? []).map((e) => [e.name, toJson(type, e.value)]);

/** gnostic message -> swagger JSON (the inverse of the encoder's mapping). */
function toJson(name: string, o: any): any {
  const m = openAPIv2Messages().get(name);
  if (!m) return o; // scalar
  switch (name) {
    case 'Any': return parseYaml(o.yaml);
    case 'TypeItem': return o.value.length === 1 ? o.value[0] : o.value;
    case 'StringArray': return o.value ?? [];
    case 'ItemsItem': return o.schema.length === 1 ? toJson('Schema', o.schema[0]) : o.schema.map((s: Obj) => toJson('Schema', s));
    case 'Paths': return Object.fromEntries([...entries(o.path, 'PathItem'), ...entries(o.vendor_extension, 'Any')]);
    case 'Responses': return Object.fromEntries([...entries(o.response_code, 'ResponseValue'), ...entries(o.vendor_extension, 'Any')]);
  }
  const fields = [...m.values()];
  if (fields.every((f) => f.oneof)) {
    const keys = Object.keys(o);
    assert.equal(keys.length, 1, `${name}: exactly one oneof member`);
    return toJson(m.get(keys[0])!.type, o[keys[0]]);
  }
  if (fields.length === 1 && fields[0].name === 'additional_properties') {
    const entry = openAPIv2Messages().get(fields[0].type)!;
    return Object.fromEntries(entries(o.additional_properties, entry.get('value')!.type));
  }
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'vendor_extension') Object.assign(out, Object.fromEntries(entries(v as Obj[], 'Any')));
    else {
      const f = m.get(k)!;
      out[camel(k)] = f.repeated ? (v as any[]).map((x) => toJson(f.type, x)) : toJson(f.type, v);
    }
  }
  return out;
}

/** The JSON document as proto3 keeps it: no empty strings or false booleans outside extension values. */
function withoutZeroValues(v: any): any {
  if (Array.isArray(v)) return v.map(withoutZeroValues);
  if (typeof v !== 'object' || v === null) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(v)) {
    if (k.startsWith('x-')) out[k] = x;
    else if (x !== '' && x !== false) out[k] = withoutZeroValues(x);
  }
  return out;
}

const json = serveOpenAPI('/openapi/v2', new URLSearchParams(), 'application/json')!;
const swagger = JSON.parse(json.body.toString());

test('the built-in v2 document encodes with nothing left out', (t) => {
  const t0 = performance.now();
  const { body, skipped } = encodeOpenAPIv2(swagger);
  const ms = performance.now() - t0;
  assert.deepEqual(skipped, []);
  t.diagnostic(`protobuf v2 document: ${body.length} bytes (JSON ${json.body.length}), encoded in ${ms.toFixed(1)} ms`);
});

test('decoding the protobuf gives back the JSON document', () => {
  const res = serveOpenAPI('/openapi/v2', new URLSearchParams(), OPENAPI_V2_PROTOBUF)!;
  assert.equal(res.status, 200);
  assert.equal(res.headers['Content-Type'], PB_TYPE);
  const doc = decode('Document', new Reader(res.body, 0, res.body.length), res.body.length);
  assert.equal(doc.swagger, '2.0');
  assert.deepEqual(toJson('Document', doc), withoutZeroValues(swagger));
});

test('wire details kubectl depends on', () => {
  const { body } = encodeOpenAPIv2(swagger);
  const doc = decode('Document', new Reader(body, 0, body.length), body.length);
  const defs = new Map<string, Obj>(doc.definitions.additional_properties.map((e: Obj) => [e.name, e.value]));
  const pod = defs.get('io.k8s.api.core.v1.Pod')!;
  assert.deepEqual(pod.type, { value: ['object'] });
  const gvk = pod.vendor_extension.find((e: Obj) => e.name === 'x-kubernetes-group-version-kind');
  assert.deepEqual(parseYaml(gvk.value.yaml), [{ group: '', version: 'v1', kind: 'Pod' }]);
  const spec = pod.properties.additional_properties.find((e: Obj) => e.name === 'spec').value;
  assert.equal(spec._ref, '#/definitions/io.k8s.api.core.v1.PodSpec');
  const containers = defs.get('io.k8s.api.core.v1.PodSpec')!.properties.additional_properties.find((e: Obj) => e.name === 'containers').value;
  assert.deepEqual(containers.items.schema, [{ _ref: '#/definitions/io.k8s.api.core.v1.Container' }]);
  const ext = Object.fromEntries(containers.vendor_extension.map((e: Obj) => [e.name, e.value.yaml]));
  assert.equal(ext['x-kubernetes-patch-merge-key'], 'name\n');
  assert.equal(ext['x-kubernetes-patch-strategy'], 'merge\n');
  const labels = defs.get('io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta')!.properties.additional_properties.find((e: Obj) => e.name === 'labels').value;
  assert.deepEqual(labels.additional_properties, { schema: { type: { value: ['string'] } } });
  // A PATCH operation with its body parameter and the fieldValidation query parameter.
  const item = doc.paths.path.find((e: Obj) => e.name === '/api/v1/namespaces/{namespace}/pods/{name}').value;
  const params = item.patch.parameters.map((p: Obj) => p.parameter);
  assert.ok(params.some((p: Obj) => p.body_parameter?.name === 'body' && p.body_parameter.schema._ref));
  assert.ok(params.some((p: Obj) => p.non_body_parameter?.query_parameter_sub_schema?.name === 'fieldValidation'));
});

test('oneof members keep zero values (additionalProperties: false)', () => {
  const { body, skipped } = encodeOpenAPIv2({ swagger: '2.0', definitions: { X: { type: ['string', 'null'], additionalProperties: false, items: [{ type: 'string' }] } } });
  assert.deepEqual(skipped, []);
  const doc = decode('Document', new Reader(body, 0, body.length), body.length);
  const x = doc.definitions.additional_properties[0].value;
  assert.deepEqual(x.additional_properties, { boolean: false });
  assert.deepEqual(x.type.value, ['string', 'null']);
  assert.equal(x.items.schema.length, 1);
});

test('members with no protobuf form are reported', () => {
  const { skipped } = encodeOpenAPIv2({ swagger: '2.0', bogus: 1, info: { title: 5 } });
  assert.deepEqual(skipped.sort(), ['Document.bogus', 'Info.title']);
});

test('Accept negotiation for /openapi/v2', () => {
  assert.equal(negotiateV2(''), 'application/json');
  assert.equal(negotiateV2('*/*'), 'application/json');
  assert.equal(negotiateV2('application/json, */*'), 'application/json');
  assert.equal(negotiateV2(OPENAPI_V2_PROTOBUF), PB_TYPE);
  assert.equal(negotiateV2(PB_TYPE), PB_TYPE);
  assert.equal(negotiateV2(`application/json;q=0.5, ${OPENAPI_V2_PROTOBUF}`), PB_TYPE);
  assert.equal(negotiateV2(`*/*, ${OPENAPI_V2_PROTOBUF}`), PB_TYPE, 'an exact type beats a wildcard of the same q');
  assert.equal(negotiateV2('application/xml'), undefined);
  assert.equal(negotiateV2(`${PB_TYPE};q=0`), undefined);
  const res = serveOpenAPI('/openapi/v2', new URLSearchParams(), 'application/xml')!;
  assert.equal(res.status, 406);
  const pb = serveOpenAPI('/openapi/v2', new URLSearchParams(), PB_TYPE)!;
  assert.equal(pb.headers.ETag, json.headers.ETag, 'kube-openapi reuses the JSON ETag (Vary: Accept)');
  assert.equal(pb.headers.Vary, 'Accept');
  assert.equal(serveOpenAPI('/openapi/v2', new URLSearchParams(), PB_TYPE)!.body, pb.body, 'built once');
});
