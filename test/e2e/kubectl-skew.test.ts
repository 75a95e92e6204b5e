// Version skew: kubectl one minor older and one newer than the server drive it unchanged.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { createObjects, fixture, kubectlBinary, namespace } from './util.js';

for (const version of ['1.31', '1.33']) {
  describe(`kubectl ${version} against the server`, () => {
    const binary = kubectlBinary(`kubectl.${version}`);
    const ns = `skew-${version.replace('.', '-')}`;
    let s: TestServer;
    before(async () => {
      s = await startServer({ apiOnly: true });
      await createObjects(s, namespace(ns));
    });
    after(async () => {
      await s?.stop();
    });
    const run = async (...args: string[]) => {
      const r = await s.kubectl(args, { binary });
      assert.equal(r.code, 0, `kubectl.${version} ${args.join(' ')}: ${r.stderr}`);
      return r;
    };

    it('reports its own client version', async () => {
      const { stdout } = await run('version');
      assert.match(stdout, new RegExp(`Client Version: v${version.replace('.', '\\.')}\\.`));
      assert.match(stdout, /Server Version: v1\.\d+/);
    });

    it('apply -f, get, delete', async () => {
      let r = await run('apply', '-n', ns, '-f', fixture('app-v1.yaml'));
      assert.equal(r.stdout, 'deployment.apps/web created\nservice/web created\nconfigmap/web-config created\nsecret/web-secret created\n');
      r = await run('apply', '-n', ns, '-f', fixture('app-v2.yaml'));
      assert.match(r.stdout, /^configmap\/web-config configured$/m);
      assert.match(r.stdout, /^service\/web unchanged$/m);

      r = await run('get', '-n', ns, 'deployments');
      assert.match(r.stdout, /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE$/m);
      assert.match(r.stdout, /^web\s+0\/3\s+0\s+0\s+\d+s$/m);
      r = await run('get', '-n', ns, 'configmap', 'web-config', '-o', 'jsonpath={.data}');
      assert.equal(r.stdout, '{"color":"green"}');
      r = await run('get', '-n', ns, 'all', '-o', 'name');
      assert.match(r.stdout, /^deployment\.apps\/web$/m);
      assert.match(r.stdout, /^service\/web$/m);

      r = await run('delete', '-n', ns, '-f', fixture('app-v2.yaml'));
      assert.equal(r.stdout, 'deployment.apps "web" deleted\nservice "web" deleted\nconfigmap "web-config" deleted\nsecret "web-secret" deleted\n');
      r = await run('get', '-n', ns, 'deployments,services,configmaps,secrets', '-o', 'name');
      assert.equal(r.stdout, '');
    });

    it('server-side apply', async () => {
      let r = await run('apply', '--server-side', '-n', ns, '-f', fixture('app-v1.yaml'));
      assert.match(r.stdout, /^configmap\/web-config serverside-applied$/m);
      r = await run('delete', '-n', ns, 'configmap', 'web-config');
      assert.equal(r.stdout, 'configmap "web-config" deleted\n');
    });
  });
}
