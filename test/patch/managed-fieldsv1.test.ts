// FieldsV1 encoding and field-set operations, checked against upstream's published shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  difference,
  fieldsOf,
  fromFieldsV1,
  intersection,
  memberPaths,
  pathString,
  toFieldsV1,
  union,
} from '../../src/apiserver/patch/fieldpath.js';

test('fieldsOf: a ConfigMap apply matches the upstream docs example', () => {
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'test-cm', namespace: 'default', labels: { 'test-label': 'test' } },
    data: { key: 'some value' },
  };
  const set = fieldsOf(cm, '', 'ConfigMap');
  // apiVersion/kind/name/namespace are in the raw set; stripMeta drops them later.
  assert.deepEqual(toFieldsV1(set), {
    'f:apiVersion': {},
    'f:data': { 'f:key': {} },
    'f:kind': {},
    'f:metadata': { 'f:labels': { 'f:test-label': {} }, 'f:name': {}, 'f:namespace': {} },
  });
});

test('fieldsOf: map-list items are members keyed by sorted key fields, with protocol defaulted', () => {
  const pod = {
    spec: {
      containers: [
        { name: 'nginx', image: 'nginx', ports: [{ containerPort: 80 }], resources: {} },
      ],
    },
  };
  const v1 = toFieldsV1(fieldsOf(pod, '', 'Pod'));
  assert.deepEqual(v1, {
    'f:spec': {
      'f:containers': {
        'k:{"name":"nginx"}': {
          '.': {},
          'f:image': {},
          'f:name': {},
          'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
          'f:resources': {},
        },
      },
    },
  });
});

test('fieldsOf: finalizers are a set, selector is atomic', () => {
  const obj = { metadata: { finalizers: ['b.example.com/x', 'a.example.com/y'] }, spec: { selector: { matchLabels: { app: 'x' } } } };
  const v1 = toFieldsV1(fieldsOf(obj, 'apps', 'Deployment'));
  assert.equal(
    JSON.stringify(v1),
    '{"f:metadata":{"f:finalizers":{"v:\\"a.example.com/y\\"":{},"v:\\"b.example.com/x\\"":{}}},"f:spec":{"f:selector":{}}}',
  );
});

test('toFieldsV1 orders "." first, fields before keys, keys by value', () => {
  const set = {
    'k:{"name":"b"}': {},
    'f:z': {},
    'k:{"name":"a"}': { 'f:x': {}, '.': {} },
    'v:2': {},
    'v:"s"': {},
    'f:a': { 'f:c': {}, 'f:b': {} },
  };
  assert.deepEqual(Object.keys(toFieldsV1(set)), ['f:a', 'f:z', 'k:{"name":"a"}', 'k:{"name":"b"}', 'v:2', 'v:"s"']);
  assert.deepEqual(Object.keys(toFieldsV1(set)['k:{"name":"a"}']), ['.', 'f:x']);
  assert.deepEqual(Object.keys(toFieldsV1(set)['f:a']), ['f:b', 'f:c']);
});

test('set operations are exact-path and keep "." membership', () => {
  const a = fromFieldsV1({ 'f:spec': { 'f:replicas': {}, 'f:template': { '.': {}, 'f:x': {} } } });
  const b = fromFieldsV1({ 'f:spec': { 'f:template': {} }, 'f:metadata': { 'f:labels': { 'f:a': {} } } });
  assert.deepEqual(toFieldsV1(difference(a, b)), { 'f:spec': { 'f:replicas': {}, 'f:template': { 'f:x': {} } } });
  assert.deepEqual(toFieldsV1(intersection(a, b)), { 'f:spec': { 'f:template': {} } });
  assert.deepEqual(toFieldsV1(union(a, b)), {
    'f:metadata': { 'f:labels': { 'f:a': {} } },
    'f:spec': { 'f:replicas': {}, 'f:template': { '.': {}, 'f:x': {} } },
  });
  assert.deepEqual(difference(a, a), {});
});

test('pathString and member iteration follow upstream', () => {
  const set = fromFieldsV1({
    'f:spec': {
      'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"nginx"}': { 'f:image': {} } } } },
      'f:replicas': {},
    },
    'f:metadata': { 'f:finalizers': { 'v:"x"': {} } },
  });
  assert.deepEqual(
    memberPaths(set).map(pathString),
    ['.metadata.finalizers[="x"]', '.spec.replicas', '.spec.template.spec.containers[name="nginx"].image'],
  );
  assert.equal(pathString(['f:ports', 'k:{"containerPort":80,"protocol":"TCP"}']), '.ports[containerPort=80,protocol="TCP"]');
});

test('fromFieldsV1 rejects malformed input', () => {
  assert.throws(() => fromFieldsV1({ 'x:foo': {} }));
  assert.throws(() => fromFieldsV1({ 'f:a': 1 }));
  assert.throws(() => fromFieldsV1({ 'k:{bad': {} }));
  assert.throws(() => fromFieldsV1([]));
});
