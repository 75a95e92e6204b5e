// Hollow nodes against a real API server in this process (memory store): registration,
// heartbeats, the pod lifecycle, deletion, adoption and stop().
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../../src/storage/memory.js';
import { startApiServer, type ApiServer } from '../../src/apiserver/server.js';
import { Client, type KObject } from '../../src/client/index.js';
import { startHollowNodes, type HollowNodes } from '../../src/hollow/index.js';

const NODE_USER = { name: 'system:node:hollow', groups: ['system:nodes'] };
const ADMIN = { name: 'system:admin', groups: ['system:masters'] };

async function eventually<T>(fn: () => Promise<T | undefined | false>, what: string, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('hollow nodes', () => {
  let dir: string;
  let api: ApiServer;
  let admin: Client;
  let nodeClient: Client;
  let hollow: HollowNodes;
  const clients: Client[] = [];

  const client = (user: { name: string; groups: string[] }) => {
    const c = new Client({ inProcess: { connect: (u) => api.connect(u), user }, component: 'hollow-test', qps: 0 });
    clients.push(c);
    return c;
  };

  const makePod = (name: string, extra: KObject = {}): KObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', ...(extra.metadata ?? {}) },
    spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }], ...(extra.spec ?? {}) },
  });

  /** Creates a pod and binds it to node, as the scheduler would. */
  const createBound = async (pod: KObject, node: string): Promise<KObject> => {
    const created = await admin.pods.create('default', pod);
    await admin.bind('default', created.metadata!.name!, node, { uid: created.metadata!.uid });
    return created;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-hollow-'));
    api = await startApiServer({ dataDir: dir, port: 0, bindAddress: '127.0.0.1', store: new MemoryStore() });
    admin = client(ADMIN);
    nodeClient = client(NODE_USER);
    hollow = await startHollowNodes({
      client: nodeClient,
      count: 20,
      labels: { team: 'scale' },
      taints: [{ key: 'hollow', value: 'true', effect: 'NoSchedule' }],
      heartbeatIntervalMs: 300,
      statusReportIntervalMs: 1200,
      podCompleteAfterMs: 300,
    });
  });

  after(async () => {
    await hollow?.stop();
    for (const c of clients) c.close();
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('registers 20 Ready nodes with labels, taints, capacity, addresses and nodeInfo', async () => {
    assert.equal(hollow.nodeNames.length, 20);
    assert.equal(hollow.nodeNames[7], 'hollow-node-7');
    const list = await admin.nodes.list();
    const nodes = new Map(list.items.map((n) => [n.metadata!.name!, n]));
    for (const name of hollow.nodeNames) assert.ok(nodes.has(name), `${name} registered`);
    const n = nodes.get('hollow-node-4')!;
    assert.deepEqual(
      Object.fromEntries(
        ['kubernetes.io/hostname', 'kubernetes.io/os', 'kubernetes.io/arch', 'node.kubernetes.io/instance-type', 'topology.kubernetes.io/zone', 'team'].map((k) => [
          k,
          n.metadata!.labels![k],
        ]),
      ),
      {
        'kubernetes.io/hostname': 'hollow-node-4',
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': 'hollow',
        'topology.kubernetes.io/zone': 'zone-1',
        team: 'scale',
      },
    );
    assert.deepEqual(n.spec.taints, [{ key: 'hollow', value: 'true', effect: 'NoSchedule' }]);
    assert.equal(n.spec.podCIDR, undefined);
    for (const field of ['capacity', 'allocatable']) {
      assert.equal(n.status[field].cpu, '32');
      assert.equal(n.status[field].memory, '256Gi');
      assert.equal(n.status[field].pods, '110');
      assert.ok(n.status[field]['ephemeral-storage']);
    }
    const ready = n.status.conditions.find((c: any) => c.type === 'Ready');
    assert.equal(ready.status, 'True');
    assert.equal(ready.reason, 'KubeletReady');
    for (const t of ['MemoryPressure', 'DiskPressure', 'PIDPressure'])
      assert.equal(n.status.conditions.find((c: any) => c.type === t).status, 'False', t);
    assert.equal(n.status.nodeInfo.kubeletVersion, 'v1.32.4');
    assert.equal(n.status.nodeInfo.containerRuntimeVersion, 'hollow://1.0');
    assert.ok(n.status.nodeInfo.osImage && n.status.nodeInfo.kernelVersion);
    const ips = hollow.nodeNames.map((name) => nodes.get(name)!.status.addresses.find((a: any) => a.type === 'InternalIP').address);
    assert.equal(new Set(ips).size, 20, 'InternalIPs are unique');
    assert.match(ips[0], /^172\.(1[6-9]|2\d|3[01])\.\d+\.\d+$/);
  });

  it('renews every node lease and refreshes the Ready heartbeat', async () => {
    const first = await eventually(async () => {
      const l = (await admin.leases.list('kube-node-lease')).items.filter((x) => x.metadata!.name!.startsWith('hollow-node-'));
      return l.length === 20 && l;
    }, 'a lease per node');
    const lease = first.find((l) => l.metadata!.name === 'hollow-node-3')!;
    assert.equal(lease.spec.holderIdentity, 'hollow-node-3');
    assert.equal(lease.spec.leaseDurationSeconds, 40);
    assert.match(lease.spec.renewTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    const node = await admin.nodes.get(null, 'hollow-node-3');
    assert.deepEqual(lease.metadata!.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'hollow-node-3', uid: node.metadata!.uid }]);
    const before = new Map(first.map((l) => [l.metadata!.name, l.spec.renewTime]));
    await eventually(async () => {
      const l = (await admin.leases.list('kube-node-lease')).items.filter((x) => x.metadata!.name!.startsWith('hollow-node-'));
      return l.every((x) => x.spec.renewTime !== before.get(x.metadata!.name));
    }, 'every lease renewed', 3000);

    const hb = (n: KObject) => n.status.conditions.find((c: any) => c.type === 'Ready').lastHeartbeatTime;
    const transition = (n: KObject) => n.status.conditions.find((c: any) => c.type === 'Ready').lastTransitionTime;
    const hb0 = hb(node);
    await eventually(async () => {
      const n = await admin.nodes.get(null, 'hollow-node-3');
      return hb(n) !== hb0 && transition(n) === transition(node);
    }, 'a newer Ready heartbeat with the same transition time', 4000);
    assert.ok(hollow.stats.leaseRenewals > 0 && hollow.stats.nodeStatusUpdates > 0);
  });

  it('runs a bound pod: Running, Ready, podIP, container statuses', async () => {
    const created = await createBound(makePod('web-1'), 'hollow-node-2');
    const pod = await eventually(async () => {
      const p = await admin.pods.get('default', 'web-1');
      return p.status?.phase === 'Running' && p;
    }, 'pod Running');
    const st = pod.status;
    assert.equal(st.hostIP, (await admin.nodes.get(null, 'hollow-node-2')).status.addresses[0].address);
    assert.deepEqual(st.hostIPs, [{ ip: st.hostIP }]);
    assert.match(st.podIP, /^10\.0\.2\.\d+$/);
    assert.deepEqual(st.podIPs, [{ ip: st.podIP }]);
    assert.ok(st.startTime);
    const cond = Object.fromEntries(st.conditions.map((c: any) => [c.type, c.status]));
    for (const t of ['PodScheduled', 'Initialized', 'ContainersReady', 'Ready']) assert.equal(cond[t], 'True', t);
    assert.equal(st.containerStatuses.length, 1);
    const cs = st.containerStatuses[0];
    assert.equal(cs.name, 'app');
    assert.equal(cs.ready, true);
    assert.equal(cs.started, true);
    assert.equal(cs.restartCount, 0);
    assert.ok(cs.state.running.startedAt);
    assert.equal(cs.image, 'registry.example/app:1');
    assert.equal(cs.imageID, 'hollow://registry.example/app:1');
    assert.equal(cs.containerID, `hollow://${created.metadata!.uid}-app`);

    // A second pod on the same node gets a different address; it stays Running (no completion).
    await createBound(makePod('web-2'), 'hollow-node-2');
    const pod2 = await eventually(async () => {
      const p = await admin.pods.get('default', 'web-2');
      return p.status?.phase === 'Running' && p;
    }, 'second pod Running');
    assert.notEqual(pod2.status.podIP, st.podIP);
    await sleep(500);
    assert.equal((await admin.pods.get('default', 'web-1')).status.phase, 'Running');
  });

  it('completes Job pods and restartPolicy Never pods: Succeeded, exit code 0, Ready False', async () => {
    const jobOwner = { apiVersion: 'batch/v1', kind: 'Job', name: 'batch', uid: '00000000-0000-0000-0000-000000000001', controller: true };
    await createBound(makePod('job-pod', { metadata: { ownerReferences: [jobOwner] }, spec: { restartPolicy: 'OnFailure' } }), 'hollow-node-5');
    await createBound(makePod('once', { spec: { restartPolicy: 'Never' } }), 'hollow-node-6');
    for (const name of ['job-pod', 'once']) {
      const pod = await eventually(async () => {
        const p = await admin.pods.get('default', name);
        return p.status?.phase === 'Succeeded' && p;
      }, `${name} Succeeded`);
      const term = pod.status.containerStatuses[0].state.terminated;
      assert.equal(term.exitCode, 0);
      assert.equal(term.reason, 'Completed');
      assert.ok(term.finishedAt);
      assert.equal(pod.status.containerStatuses[0].ready, false);
      const ready = pod.status.conditions.find((c: any) => c.type === 'Ready');
      assert.equal(ready.status, 'False');
      assert.equal(ready.reason, 'PodCompleted');
      assert.ok(pod.status.podIP);
    }
  });

  it('finishes the deletion of a bound pod', async () => {
    await createBound(makePod('doomed', { spec: { terminationGracePeriodSeconds: 30 } }), 'hollow-node-9');
    await eventually(async () => (await admin.pods.get('default', 'doomed')).status?.phase === 'Running', 'pod Running');
    await admin.pods.delete('default', 'doomed');
    await eventually(
      async () => {
        try {
          await admin.pods.get('default', 'doomed');
          return false;
        } catch (e) {
          return (e as any).reason === 'NotFound';
        }
      },
      'pod gone',
    );
    // Pods of other nodes are not touched.
    await admin.pods.create('default', makePod('elsewhere', { spec: { nodeName: 'real-node-1' } }));
    await sleep(300);
    assert.equal((await admin.pods.get('default', 'elsewhere')).status.phase, 'Pending');
  });

  it('allocates pod addresses from spec.podCIDR once the node has one', async () => {
    await admin.nodes.patch(null, 'hollow-node-11', { spec: { podCIDR: '10.244.11.0/24', podCIDRs: ['10.244.11.0/24'] } });
    await sleep(100); // the node watch picks it up
    await createBound(makePod('cidr-pod'), 'hollow-node-11');
    const pod = await eventually(async () => {
      const p = await admin.pods.get('default', 'cidr-pod');
      return p.status?.phase === 'Running' && p;
    }, 'pod Running');
    assert.match(pod.status.podIP, /^10\.244\.11\.\d+$/);
    // Status writes keep spec.podCIDR as the IPAM controller set it.
    await sleep(1300);
    assert.equal((await admin.nodes.get(null, 'hollow-node-11')).spec.podCIDR, '10.244.11.0/24');
  });

  it('adopts existing nodes on a second run', async () => {
    const again = await startHollowNodes({ client: client(NODE_USER), count: 3, heartbeatIntervalMs: 300, statusReportIntervalMs: 60_000 });
    try {
      assert.equal(again.stats.nodesAdopted, 3);
      assert.equal(again.stats.nodesCreated, 0);
    } finally {
      await again.stop();
    }
  });

  it('stop() ends every write', async () => {
    await hollow.stop();
    const snapshot = async () =>
      JSON.stringify(
        (await admin.leases.list('kube-node-lease')).items.map((l) => l.spec.renewTime).concat((await admin.nodes.list()).items.map((n) => n.metadata!.resourceVersion!)),
      );
    const before = await snapshot();
    await createBound(makePod('after-stop'), 'hollow-node-1');
    await sleep(1000);
    assert.equal(await snapshot(), before);
    assert.equal((await admin.pods.get('default', 'after-stop')).status.phase, 'Pending');
  });
});
