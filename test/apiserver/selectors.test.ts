import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFieldSelector, parseLabelSelector, labelSelectorFromObject } from '../../src/apiserver/selectors.js';
import { parseResourcePath } from '../../src/apiserver/request-info.js';
import { ApiError } from '../../src/apiserver/errors.js';

test('label selector: equality, inequality, set and existence', () => {
  const s = parseLabelSelector('app=web, tier in (a,b),!canary,env!=prod,track');
  assert.equal(s.matches({ app: 'web', tier: 'a', track: 'x' }), true);
  assert.equal(s.matches({ app: 'web', tier: 'c', track: 'x' }), false);
  assert.equal(s.matches({ app: 'web', tier: 'a', track: 'x', canary: '1' }), false);
  assert.equal(s.matches({ app: 'web', tier: 'b', track: 'x', env: 'prod' }), false);
  assert.equal(s.matches({ app: 'web', tier: 'b' }), false);
  assert.equal(parseLabelSelector('a==b').matches({ a: 'b' }), true);
  assert.equal(parseLabelSelector('x notin (1,2)').matches({}), true);
  assert.equal(parseLabelSelector('').matches(undefined), true);
});

test('label selector syntax errors are BadRequest', () => {
  assert.throws(() => parseLabelSelector('a in (b'), (e: unknown) => e instanceof ApiError && e.code === 400);
  assert.throws(() => parseLabelSelector('=b'), (e: unknown) => e instanceof ApiError && e.code === 400);
});

test('LabelSelector objects compile; nil matches nothing', () => {
  const s = labelSelectorFromObject({ matchLabels: { a: '1' }, matchExpressions: [{ key: 'b', operator: 'Exists' }] });
  assert.equal(s.matches({ a: '1', b: '' }), true);
  assert.equal(s.matches({ a: '1' }), false);
  assert.equal(labelSelectorFromObject(undefined).matches({}), false);
  assert.equal(labelSelectorFromObject({}).matches({}), true);
});

test('field selectors with escapes', () => {
  assert.deepEqual(parseFieldSelector('status.phase=Running,spec.nodeName!=n1'), [
    { field: 'status.phase', value: 'Running', negate: false },
    { field: 'spec.nodeName', value: 'n1', negate: true },
  ]);
  assert.deepEqual(parseFieldSelector('metadata.name==a\\,b'), [{ field: 'metadata.name', value: 'a,b', negate: false }]);
  assert.throws(() => parseFieldSelector('nonsense'), (e: unknown) => e instanceof ApiError && e.code === 400);
});

test('resource paths', () => {
  assert.deepEqual(parseResourcePath('/api/v1/namespaces/default/pods/p1/status'), {
    group: '', version: 'v1', namespace: 'default', resource: 'pods', name: 'p1', subresource: 'status', legacyWatch: false,
  });
  assert.deepEqual(parseResourcePath('/api/v1/namespaces/kube-system'), {
    group: '', version: 'v1', resource: 'namespaces', name: 'kube-system', subresource: undefined, legacyWatch: false,
  });
  assert.deepEqual(parseResourcePath('/api/v1/namespaces/x/finalize')?.subresource, 'finalize');
  assert.deepEqual(parseResourcePath('/apis/apps/v1/deployments'), {
    group: 'apps', version: 'v1', resource: 'deployments', name: undefined, subresource: undefined, legacyWatch: false,
  });
  assert.equal(parseResourcePath('/apis/apps/v1/watch/namespaces/a/deployments')?.legacyWatch, true);
  assert.equal(parseResourcePath('/apis/apps'), undefined);
});
