// kubectl's read-only cluster commands: version, cluster-info, discovery and explain.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/cluster.js';

describe('kubectl basics', () => {
  let s: TestServer;
  before(async () => {
    s = await startServer({ apiOnly: true });
  });
  after(async () => {
    await s?.stop();
  });

  it('version prints client and server versions', async () => {
    const out = await s.k('version');
    assert.match(out, /Client Version: v1\.32/);
    assert.match(out, /Server Version: v1\.\d+\.\d+/);
    const json = JSON.parse(await s.k('version', '-o', 'json'));
    assert.equal(json.serverVersion.major, '1');
    assert.match(json.serverVersion.gitVersion, /^v1\.\d+\.\d+/);
  });

  it('cluster-info names the control plane URL', async () => {
    const out = await s.k('cluster-info');
    assert.match(out, new RegExp(`Kubernetes control plane.* is running at .*${s.url.replace(/[.]/g, '\\.')}`));
  });

  it('api-resources lists core and group resources with short names and kinds', async () => {
    const out = await s.k('api-resources');
    assert.match(out.split('\n')[0], /^NAME\s+SHORTNAMES\s+APIVERSION\s+NAMESPACED\s+KIND$/);
    assert.match(out, /^pods\s+po\s+v1\s+true\s+Pod$/m);
    assert.match(out, /^namespaces\s+ns\s+v1\s+false\s+Namespace$/m);
    assert.match(out, /^configmaps\s+cm\s+v1\s+true\s+ConfigMap$/m);
    assert.match(out, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    const names = await s.k('api-resources', '--namespaced=false', '-o', 'name');
    assert.ok(names.split('\n').includes('nodes'));
    assert.ok(!names.split('\n').includes('pods'));
    const verbs = await s.k('api-resources', '--verbs=list', '--api-group=apps', '-o', 'wide');
    assert.match(verbs, /^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment\s+create,delete,deletecollection,get,list,patch,update,watch\s+all$/m);
  });

  it('api-versions lists served group versions', async () => {
    const lines = (await s.k('api-versions')).trim().split('\n');
    for (const gv of ['v1', 'apps/v1', 'batch/v1']) assert.ok(lines.includes(gv), `missing ${gv} in ${lines.join(',')}`);
    assert.deepEqual([...lines].sort(), lines, 'api-versions output is sorted');
  });

  it('explain pod.spec.containers shows the field and its sub-fields', async () => {
    const out = await s.k('explain', 'pod.spec.containers');
    assert.match(out, /^KIND:\s+Pod$/m);
    assert.match(out, /^VERSION:\s+v1$/m);
    assert.match(out, /^FIELD: containers <\[\]Container>$/m);
    assert.match(out, /^FIELDS:$/m);
    assert.match(out, /^\s+image\s+<string>/m);
    assert.match(out, /^\s+name\s+<string> -required-$/m);
    assert.match(out, /^\s+ports\s+<\[\]ContainerPort>/m);
  });

  it('explain a group resource field (deployment.spec.replicas)', async () => {
    const out = await s.k('explain', 'deployment.spec.replicas');
    assert.match(out, /^GROUP:\s+apps$/m);
    assert.match(out, /^KIND:\s+Deployment$/m);
    assert.match(out, /^FIELD: replicas <integer>$/m);
  });
});
