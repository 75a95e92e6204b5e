// kubectl's error paths: the Status objects the server returns must make kubectl print its usual messages.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { configMap, createObjects, namespace } from './util.js';

const NS = 'errs';

describe('kubectl error messages', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ apiOnly: true });
    await createObjects(s, namespace(NS));
  });
  after(async () => {
    await s?.stop();
  });
  const fail = async (args: string[], input?: string) => {
    const r = await s.kubectl(args, input === undefined ? {} : { input });
    assert.notEqual(r.code, 0, `expected kubectl ${args.join(' ')} to fail; stdout: ${r.stdout}`);
    return r;
  };

  it('NotFound', async () => {
    let r = await fail(['get', 'pods', 'nope']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error from server (NotFound): pods "nope" not found\n');
    r = await fail(['get', 'deployment', 'nope', '-n', NS]);
    assert.equal(r.stderr, 'Error from server (NotFound): deployments.apps "nope" not found\n');
    r = await fail(['delete', 'configmap', 'nope', '-n', NS]);
    assert.equal(r.stderr, 'Error from server (NotFound): configmaps "nope" not found\n');
    r = await fail(['create', '-f', '-'], JSON.stringify(configMap('x', 'ghost-ns')));
    assert.equal(r.stderr, 'Error from server (NotFound): error when creating "STDIN": namespaces "ghost-ns" not found\n');
  });

  it('unknown resource type', async () => {
    const r = await fail(['get', 'flibbertigibbets']);
    assert.match(r.stderr, /error: the server doesn't have a resource type "flibbertigibbets"/);
  });

  it('AlreadyExists', async () => {
    const cm = JSON.stringify(configMap('dup', NS));
    assert.equal((await s.kubectl(['create', '-f', '-'], { input: cm })).code, 0);
    const r = await fail(['create', '-f', '-'], cm);
    assert.equal(r.stderr, 'Error from server (AlreadyExists): error when creating "STDIN": configmaps "dup" already exists\n');
  });

  it('Conflict: replace -f of a stale copy', async () => {
    await createObjects(s, configMap('stale', NS, { v: '1' }));
    const old = await s.k('get', '-n', NS, 'configmap/stale', '-o', 'yaml');
    await s.k('patch', '-n', NS, 'configmap/stale', '--type=merge', '-p', '{"data":{"v":"2"}}');
    const r = await fail(['replace', '-f', '-'], old.replace("v: \"1\"", "v: \"3\""));
    assert.equal(
      r.stderr,
      'Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on configmaps "stale": the object has been modified; please apply your changes to the latest version and try again\n',
    );
    const cm = JSON.parse(await s.k('get', '-n', NS, 'configmap/stale', '-o', 'json'));
    assert.equal(cm.data.v, '2');
  });

  it('Invalid with field paths (pod without image)', async () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'noimage', namespace: NS }, spec: { containers: [{ name: 'c' }] } };
    const r = await fail(['create', '-f', '-'], JSON.stringify(pod));
    assert.equal(r.stderr, 'The Pod "noimage" is invalid: spec.containers[0].image: Required value\n');
    const two = { ...pod, metadata: { name: 'twoerrs', namespace: NS }, spec: { containers: [{ name: 'Bad_Name' }] } };
    const r2 = await fail(['create', '-f', '-'], JSON.stringify(two));
    assert.match(r2.stderr, /^The Pod "twoerrs" is invalid: \n\* spec\.containers\[0\]\.name: Invalid value: "Bad_Name": a lowercase RFC 1123 label must consist of/m);
    assert.match(r2.stderr, /^\* spec\.containers\[0\]\.image: Required value$/m);
    const r3 = await fail(['get', '-n', NS, 'pods', 'noimage']);
    assert.match(r3.stderr, /NotFound/, 'nothing stored');
  });

  it('Invalid name', async () => {
    const r = await fail(['create', '-f', '-'], JSON.stringify(configMap('Not_A_Name', NS)));
    assert.match(r.stderr, /^The ConfigMap "Not_A_Name" is invalid: metadata\.name: Invalid value: "Not_A_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '\.', and must start and end with an alphanumeric character/);
  });

  it('Invalid: immutable field on update', async () => {
    const d = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'imm', namespace: NS },
      spec: { selector: { matchLabels: { app: 'imm' } }, template: { metadata: { labels: { app: 'imm', v: '1' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    };
    await createObjects(s, d);
    const r = await fail(['patch', '-n', NS, 'deployment/imm', '--type=merge', '-p', '{"spec":{"selector":{"matchLabels":{"app":"imm","v":"1"}}}}']);
    assert.match(r.stderr, /^The Deployment "imm" is invalid: spec\.selector: Invalid value: .*: field is immutable/);
  });

  it('unknown field rejected under strict validation (apply)', async () => {
    const manifest = `apiVersion: v1
kind: Pod
metadata:
  name: typo
  namespace: ${NS}
spec:
  containers:
  - name: c
    imagee: nginx
    image: nginx
`;
    const r = await fail(['apply', '-f', '-'], manifest);
    assert.match(r.stderr, /strict decoding error: unknown field "spec\.containers\[0\]\.imagee"/);
    assert.match(r.stderr, /^Error from server \(BadRequest\): error when creating "STDIN": /);
    const r2 = await fail(['create', '-f', '-'], manifest);
    assert.match(r2.stderr, /strict decoding error: unknown field "spec\.containers\[0\]\.imagee"/);
    assert.match((await fail(['get', '-n', NS, 'pod/typo'])).stderr, /NotFound/);
  });

  const warned = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'warned', namespace: NS, colour: 'red' }, data: { a: 'b' } });

  it('unknown field only warns with --validate=warn', async () => {
    const r = await s.kubectl(['apply', '--validate=warn', '-f', '-'], { input: warned });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Warning: unknown field "metadata\.colour"/);
    assert.equal(r.stdout, 'configmap/warned created\n');
  });

  it('an unknown field accepted under --validate=warn is not stored', async () => {
    await s.kubectl(['apply', '--validate=warn', '-f', '-'], { input: warned });
    const cm = JSON.parse(await s.k('get', '-n', NS, 'configmap/warned', '-o', 'json'));
    assert.equal(cm.metadata.colour, undefined);
  });
});
