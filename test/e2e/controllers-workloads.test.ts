// The controller manager end to end: `skiff server --disable-agent` (scheduler and controllers
// in-process), six simulated nodes from two `skiff hollow-nodes` processes, and the real kubectl.
//   hollow-node-0..4  run pods; Job pods finish after 1 s
//   slow-node-0       never finishes pods (--pod-complete-after 1h), tainted ctl-test=slow:NoSchedule:
//                     only the failing Job's pods go there; the test plays its kubelet and reports
//                     them Failed, since hollow nodes have no way to fail a pod
// Each suite works in its own namespace (fixtures in test/fixtures/controllers) and the suites
// run concurrently, so the one-minute wait for the CronJob overlaps the rest.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/cluster.js';
import { startHollow, type Hollow } from '../helpers/hollow.js';
import { createObjects, fixture, namespace, sleep, spawnKubectl, waitUntil, type BackgroundKubectl } from './util.js';

const FAST_NODES = ['hollow-node-0', 'hollow-node-1', 'hollow-node-2', 'hollow-node-3', 'hollow-node-4'];
const SLOW_NODE = 'slow-node-0';
const ALL_NODES = [...FAST_NODES, SLOW_NODE];
const TAINTED = 'hollow-node-4';
/** Nodes a DaemonSet without tolerations covers while TAINTED is tainted too. */
const UNTAINTED = FAST_NODES.filter((n) => n !== TAINTED);

/** Suites run concurrently; the steps inside each one in order (concurrency is inherited otherwise). */
const SEQUENTIAL = { concurrency: 1 };

/** One `kubectl get -w --output-watch-events -o jsonpath=...` line split on '|'. */
type Event = string[];

describe('controllers on hollow nodes (kubectl)', { concurrency: true }, () => {
  let s: TestServer;
  const hollows: Hollow[] = [];
  const watchers: BackgroundKubectl[] = [];

  const json = async (...args: string[]) => JSON.parse(await s.k(...args, '-o', 'json'));
  const jsonpath = async (path: string, ...args: string[]) => (await s.k(...args, '-o', `jsonpath=${path}`)).trim();

  /** Watches a resource with kubectl; every line is one event, fields as in template (after the event type). */
  function watch(args: string[], fields: string[]) {
    const template = ['{.type}', ...fields].join('|') + '{"\\n"}';
    const w = spawnKubectl(s.kubeconfig, ['get', ...args, '-w', '--output-watch-events', '-o', `jsonpath=${template}`]);
    watchers.push(w);
    return {
      events: (): Event[] =>
        w
          .output()
          .split('\n')
          .filter((l) => l.includes('|'))
          .map((l) => l.split('|')),
      stop: () => w.kill(),
      stderr: () => w.stderr(),
    };
  }

  before(async () => {
    s = await startServer();
    const [fast, slow] = await Promise.all([
      startHollow(s.kubeconfig, ['--count', String(FAST_NODES.length)]),
      startHollow(s.kubeconfig, ['--count', '1', '--name-prefix', 'slow-node-', '--pod-complete-after', '1h']),
    ]);
    hollows.push(fast, slow);
    // Only pods that tolerate it go to the slow node (the failing Job's).
    await s.k('taint', 'node', SLOW_NODE, 'ctl-test=slow:NoSchedule');
    await waitUntil(
      async () => (await json('get', 'nodes')).items.filter((n: any) => n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True')).length === ALL_NODES.length,
      'six Ready nodes',
      20_000,
      100,
    );
  });

  after(async () => {
    for (const w of watchers) await w.kill();
    for (const h of hollows) await h.kill();
    await s?.stop();
  });

  describe('Deployment: scale, rolling update, history, undo, pause/resume', SEQUENTIAL, () => {
    const ns = ['-n', 'ctl-deploy'];
    const REPLICAS = 10;
    const MAX_UNAVAILABLE = 1;
    const MAX_SURGE = 2;

    /** Images of the deployment's pods that are not being deleted. */
    async function liveImages(): Promise<string[]> {
      const pods = await json('get', 'pods', ...ns, '-l', 'app=web');
      return pods.items.filter((p: any) => !p.metadata.deletionTimestamp).map((p: any) => p.spec.containers[0].image);
    }

    async function rolloutStatus(): Promise<void> {
      const out = await s.k('rollout', 'status', 'deployment/web', ...ns, '--timeout=60s');
      assert.match(out, /deployment "web" successfully rolled out/);
    }

    /**
     * Watches pods and ReplicaSets during a rollout; check() replays the events and asserts that,
     * once all REPLICAS were available, available pods never fell below REPLICAS - MAX_UNAVAILABLE
     * and the ReplicaSets' replicas never summed above REPLICAS + MAX_SURGE.
     */
    function rolloutWatch() {
      const pods = watch(['pods', ...ns, '-l', 'app=web'], ['{.object.metadata.name}', '{.object.metadata.deletionTimestamp}', '{.object.status.conditions[?(@.type=="Ready")].status}', '{.object.spec.containers[0].image}']);
      const sets = watch(['replicasets', ...ns, '-l', 'app=web'], ['{.object.metadata.name}', '{.object.spec.replicas}']);
      const replay = () => {
        const state = new Map<string, { ready: boolean; terminating: boolean; image: string }>();
        let armed = false;
        let minAvailable = Infinity;
        for (const [type, name, deleting, ready, image] of pods.events()) {
          if (type === 'DELETED') state.delete(name);
          else state.set(name, { ready: ready === 'True', terminating: deleting !== '', image });
          const available = [...state.values()].filter((p) => p.ready && !p.terminating).length;
          if (!armed && available >= REPLICAS) armed = true;
          if (armed) minAvailable = Math.min(minAvailable, available);
        }
        const rs = new Map<string, number>();
        let maxReplicas = 0;
        for (const [type, name, replicas] of sets.events()) {
          if (type === 'DELETED') rs.delete(name);
          else rs.set(name, Number(replicas));
          maxReplicas = Math.max(maxReplicas, [...rs.values()].reduce((a, b) => a + b, 0));
        }
        return { armed, minAvailable, maxReplicas, state };
      };
      return {
        /** Resolves once the watch has seen every replica available (call before changing the template). */
        async armed() {
          await waitUntil(() => replay().armed, `the pod watch to see ${REPLICAS} available pods (stderr: ${pods.stderr()})`, 10_000);
        },
        async check(image: string) {
          // The watch may trail `rollout status`: wait until it has seen the finished rollout.
          await waitUntil(() => {
            const live = [...replay().state.values()].filter((p) => !p.terminating);
            return live.length === REPLICAS && live.every((p) => p.ready && p.image === image);
          }, `the pod watch to see ${REPLICAS} ready ${image} pods`, 10_000);
          await Promise.all([pods.stop(), sets.stop()]);
          const r = replay();
          assert.ok(r.minAvailable >= REPLICAS - MAX_UNAVAILABLE, `available pods fell to ${r.minAvailable} (< ${REPLICAS} - maxUnavailable ${MAX_UNAVAILABLE})`);
          assert.ok(r.maxReplicas <= REPLICAS + MAX_SURGE, `ReplicaSets summed to ${r.maxReplicas} replicas (> ${REPLICAS} + maxSurge ${MAX_SURGE})`);
        },
      };
    }

    it('creates 3 replicas, scales to 10', async () => {
      await s.k('apply', '-f', fixture('controllers/web-deployment.yaml'));
      await rolloutStatus();
      assert.equal(await jsonpath('{.status.availableReplicas}', 'get', 'deployment', 'web', ...ns), '3');
      await s.k('scale', 'deployment/web', ...ns, `--replicas=${REPLICAS}`);
      await rolloutStatus();
      const d = await json('get', 'deployment', 'web', ...ns);
      assert.deepEqual(
        { replicas: d.status.replicas, ready: d.status.readyReplicas, available: d.status.availableReplicas, updated: d.status.updatedReplicas },
        { replicas: 10, ready: 10, available: 10, updated: 10 },
      );
      const pods = await json('get', 'pods', ...ns, '-l', 'app=web');
      assert.equal(pods.items.length, REPLICAS);
      for (const p of pods.items) {
        assert.equal(p.status.phase, 'Running', p.metadata.name);
        assert.ok(ALL_NODES.includes(p.spec.nodeName), `${p.metadata.name} on ${p.spec.nodeName}`);
      }
    });

    it('rolls out a new image within maxUnavailable/maxSurge; rollout history lists both revisions', async () => {
      const w = rolloutWatch();
      await w.armed();
      await s.k('set', 'image', 'deployment/web', ...ns, 'nginx=nginx:1.26');
      await s.k('annotate', 'deployment/web', ...ns, '--overwrite', 'kubernetes.io/change-cause=nginx:1.26');
      await rolloutStatus();
      await w.check('nginx:1.26');
      assert.deepEqual(await liveImages(), Array(REPLICAS).fill('nginx:1.26'));
      const sets = await json('get', 'replicasets', ...ns, '-l', 'app=web');
      const byImage = new Map(sets.items.map((r: any) => [r.spec.template.spec.containers[0].image, r]));
      assert.equal((byImage.get('nginx:1.25') as any)?.spec.replicas, 0);
      assert.equal((byImage.get('nginx:1.26') as any)?.spec.replicas, REPLICAS);

      const history = await s.k('rollout', 'history', 'deployment/web', ...ns);
      assert.match(history, /^REVISION\s+CHANGE-CAUSE$/m);
      assert.match(history, /^1\s+initial nginx:1\.25$/m);
      assert.match(history, /^2\s+nginx:1\.26$/m);
      const rev1 = await s.k('rollout', 'history', 'deployment/web', ...ns, '--revision=1');
      assert.match(rev1, /Image:\s+nginx:1\.25/);
    });

    it('rollout undo restores the previous template (revision 3)', async () => {
      const w = rolloutWatch();
      await w.armed();
      assert.match(await s.k('rollout', 'undo', 'deployment/web', ...ns), /rolled back/);
      await rolloutStatus();
      await w.check('nginx:1.25');
      const d = await json('get', 'deployment', 'web', ...ns);
      assert.equal(d.spec.template.spec.containers[0].image, 'nginx:1.25');
      assert.equal(d.metadata.annotations['deployment.kubernetes.io/revision'], '3');
      assert.deepEqual(await liveImages(), Array(REPLICAS).fill('nginx:1.25'));
      // The revision-1 ReplicaSet was reused: still two ReplicaSets, revision 1 became 3.
      const history = await s.k('rollout', 'history', 'deployment/web', ...ns);
      assert.match(history, /^2\s+nginx:1\.26$/m);
      assert.match(history, /^3\s+initial nginx:1\.25$/m);
      assert.doesNotMatch(history, /^1\s/m);
      assert.equal((await json('get', 'replicasets', ...ns, '-l', 'app=web')).items.length, 2);
    });

    it('pause holds template changes back; resume rolls them out', async () => {
      await s.k('rollout', 'pause', 'deployment/web', ...ns);
      await s.k('set', 'image', 'deployment/web', ...ns, 'nginx=nginx:1.27');
      await waitUntil(
        async () => {
          const d = await json('get', 'deployment', 'web', ...ns);
          const p = d.status.conditions?.find((c: any) => c.type === 'Progressing');
          return d.status.observedGeneration === d.metadata.generation && p?.reason === 'DeploymentPaused' && p?.status === 'Unknown';
        },
        'Progressing=Unknown/DeploymentPaused',
        10_000,
        100,
      );
      await sleep(1000);
      assert.deepEqual(await liveImages(), Array(REPLICAS).fill('nginx:1.25'));
      for (const r of (await json('get', 'replicasets', ...ns, '-l', 'app=web')).items)
        if (r.spec.template.spec.containers[0].image === 'nginx:1.27') assert.equal(r.spec.replicas, 0, 'a paused deployment scales no new ReplicaSet up');
      await s.k('rollout', 'resume', 'deployment/web', ...ns);
      await rolloutStatus();
      await waitUntil(async () => (await liveImages()).join() === Array(REPLICAS).fill('nginx:1.27').join(), '10 nginx:1.27 pods', 10_000, 100);
    });

    it('scales down to 2', async () => {
      await s.k('scale', 'deployment/web', ...ns, '--replicas=2');
      await rolloutStatus();
      await waitUntil(async () => (await json('get', 'pods', ...ns, '-l', 'app=web')).items.length === 2, 'two pods left', 10_000, 100);
      assert.equal(await jsonpath('{.status.availableReplicas}', 'get', 'deployment', 'web', ...ns), '2');
    });
  });

  describe('StatefulSet', SEQUENTIAL, () => {
    const ns = ['-n', 'ctl-sts'];

    it('creates pods 0..2 in order, each with its PVC from volumeClaimTemplates', async () => {
      await createObjects(s, namespace('ctl-sts'));
      const pods = watch(['pods', ...ns, '-l', 'app=db'], ['{.object.metadata.name}', '{.object.status.phase}', '{.object.status.conditions[?(@.type=="Ready")].status}']);
      await sleep(1000); // let the watch start before the StatefulSet exists: it then sees every pod from its creation
      // The claims get the server's default local-path class; the scheduler selects a node, the
      // persistentvolume-binder provisions a hostPath volume there and binds it.
      await s.k('apply', '-f', fixture('controllers/statefulset.yaml'));
      const out = await s.k('rollout', 'status', 'statefulset/db', ...ns, '--timeout=60s');
      assert.match(out, /partitioned roll out complete: 3 new pods have been updated|roll out complete/);
      const list = await json('get', 'pods', ...ns, '-l', 'app=db');
      assert.deepEqual(list.items.map((p: any) => p.metadata.name).sort(), ['db-0', 'db-1', 'db-2']);
      for (const p of list.items) {
        assert.equal(p.status.phase, 'Running', p.metadata.name);
        assert.equal(p.metadata.labels['statefulset.kubernetes.io/pod-name'], p.metadata.name);
        const claim = p.spec.volumes.find((v: any) => v.name === 'data');
        assert.deepEqual(claim?.persistentVolumeClaim, { claimName: `data-${p.metadata.name}` }, p.metadata.name);
      }
      const claims = await json('get', 'pvc', ...ns);
      assert.deepEqual(claims.items.map((c: any) => c.metadata.name).sort(), ['data-db-0', 'data-db-1', 'data-db-2']);
      for (const c of claims.items) assert.equal(c.metadata.labels?.app, 'db', `${c.metadata.name} carries the selector labels`);
      const byName = new Map<string, any>(list.items.map((p: any) => [p.metadata.name, p]));
      for (const c of claims.items) {
        assert.equal(c.spec.storageClassName, 'local-path', c.metadata.name);
        assert.equal(c.status.phase, 'Bound', c.metadata.name);
        const pv = await json('get', 'pv', c.spec.volumeName);
        assert.equal(pv.metadata.annotations['pv.kubernetes.io/provisioned-by'], 'skiff.io/host-path');
        assert.equal(pv.spec.claimRef.uid, c.metadata.uid);
        // Provisioned on the node the pod runs on.
        const node = byName.get(c.metadata.name.slice('data-'.length)).spec.nodeName;
        assert.deepEqual(pv.spec.nodeAffinity.required.nodeSelectorTerms[0].matchExpressions[0].values, [node], c.metadata.name);
      }

      // OrderedReady: db-(i+1) is created only after db-i was Ready.
      const events = pods.events();
      const firstSeen = (name: string) => events.findIndex((e) => e[1] === name);
      const firstReady = (name: string) => events.findIndex((e) => e[1] === name && e[3] === 'True');
      for (const i of [1, 2]) {
        const created = firstSeen(`db-${i}`);
        const prevReady = firstReady(`db-${i - 1}`);
        assert.ok(prevReady >= 0 && created > prevReady, `db-${i} created (event ${created}) before db-${i - 1} was Ready (event ${prevReady}): ${JSON.stringify(events)}`);
      }
      await pods.stop();
    });
  });

  describe('DaemonSet', SEQUENTIAL, () => {
    const ns = ['-n', 'ctl-ds'];

    async function daemonNodes(): Promise<string[]> {
      const pods = await json('get', 'pods', ...ns, '-l', 'app=agent');
      return pods.items.filter((p: any) => !p.metadata.deletionTimestamp).map((p: any) => p.spec.nodeName ?? '(unscheduled)').sort();
    }

    it('runs one pod on every untainted node; untainting a node adds one there', async () => {
      await s.k('taint', 'node', TAINTED, 'ctl-test=daemonset:NoSchedule');
      await s.k('apply', '-f', fixture('controllers/daemonset.yaml'));
      assert.match(await s.k('rollout', 'status', 'daemonset/agent', ...ns, '--timeout=60s'), /successfully rolled out/);
      assert.deepEqual(await daemonNodes(), UNTAINTED);
      const ds = await json('get', 'daemonset', 'agent', ...ns);
      assert.deepEqual(
        { desired: ds.status.desiredNumberScheduled, current: ds.status.currentNumberScheduled, ready: ds.status.numberReady, misscheduled: ds.status.numberMisscheduled },
        { desired: 4, current: 4, ready: 4, misscheduled: 0 },
      );
      for (const p of (await json('get', 'pods', ...ns, '-l', 'app=agent')).items) assert.equal(p.status.phase, 'Running', p.metadata.name);

      await s.k('taint', 'node', TAINTED, 'ctl-test=daemonset:NoSchedule-');
      await waitUntil(async () => (await daemonNodes()).join() === FAST_NODES.join(), 'a daemon pod on the untainted node', 20_000, 200);
      assert.match(await s.k('rollout', 'status', 'daemonset/agent', ...ns, '--timeout=60s'), /successfully rolled out/);
    });
  });

  describe('Job', SEQUENTIAL, () => {
    const ns = ['-n', 'ctl-job'];

    it('completions=5 parallelism=2 completes, never running more than 2 pods at once', async () => {
      await createObjects(s, namespace('ctl-job'));
      const pods = watch(['pods', ...ns, '-l', 'job-name=work'], ['{.object.metadata.name}', '{.object.status.phase}', '{.object.metadata.deletionTimestamp}']);
      await sleep(1000); // the watch is running before the Job creates pods
      await s.k('apply', '-f', fixture('controllers/jobs.yaml'));
      const r = await s.kubectl(['wait', '--for=condition=complete', 'job/work', ...ns, '--timeout=60s'], { timeoutMs: 70_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /job.batch\/work condition met/);
      const job = await json('get', 'job', 'work', ...ns);
      assert.equal(job.status.succeeded, 5);
      assert.ok(!job.status.failed, `failed: ${job.status.failed}`);
      assert.ok(job.status.completionTime);
      await waitUntil(() => pods.events().filter((e) => e[2] === 'Succeeded' && e[0] === 'MODIFIED').length >= 5, 'the watch to see 5 Succeeded pods', 10_000);
      await pods.stop();
      const phase = new Map<string, string>();
      let maxActive = 0;
      for (const [type, name, p, deleting] of pods.events()) {
        if (type === 'DELETED' || deleting) phase.delete(name);
        else phase.set(name, p);
        maxActive = Math.max(maxActive, [...phase.values()].filter((x) => x !== 'Succeeded' && x !== 'Failed').length);
      }
      assert.ok(maxActive <= 2, `${maxActive} pods active at once with parallelism 2`);
      assert.equal(new Set(pods.events().map((e) => e[1])).size, 5, 'exactly 5 pods created');
    });

    it('a Job whose pods fail stops at backoffLimit (the test reports the pods Failed as their kubelet)', async () => {
      await waitUntil(async () => (await s.kubectl(['get', 'job', 'doomed', ...ns])).code === 0, 'job doomed', 20_000, 100);
      // Stand-in kubelet for slow-node-0: every Running pod of the Job exits 1.
      let stopped = false;
      const failed = new Set<string>();
      const kubelet = (async () => {
        while (!stopped) {
          for (const p of (await json('get', 'pods', ...ns, '-l', 'job-name=doomed')).items) {
            if (p.status.phase !== 'Running' || p.metadata.deletionTimestamp || failed.has(p.metadata.uid)) continue;
            assert.equal(p.spec.nodeName, SLOW_NODE);
            failed.add(p.metadata.uid);
            const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
            const status = {
              phase: 'Failed',
              conditions: [{ type: 'Ready', status: 'False', reason: 'PodFailed', lastTransitionTime: now }],
              containerStatuses: [
                {
                  name: 'work',
                  image: 'busybox:1.36',
                  imageID: p.status.containerStatuses?.[0]?.imageID ?? '',
                  containerID: p.status.containerStatuses?.[0]?.containerID,
                  ready: false,
                  started: false,
                  restartCount: 0,
                  state: { terminated: { exitCode: 1, reason: 'Error', startedAt: p.status.startTime, finishedAt: now } },
                },
              ],
            };
            // Strategic merge: conditions merge by type, containerStatuses are replaced.
            await s.k('patch', 'pod', p.metadata.name, ...ns, '--subresource=status', '--type=strategic', '-p', JSON.stringify({ status }));
          }
          await sleep(200);
        }
      })();
      try {
        // backoffLimit 1: the first failure is retried after the 10 s pod-failure backoff.
        const r = await s.kubectl(['wait', '--for=condition=failed', 'job/doomed', ...ns, '--timeout=60s'], { timeoutMs: 70_000 });
        assert.equal(r.code, 0, r.stderr);
      } finally {
        stopped = true;
        await kubelet;
      }
      const job = await json('get', 'job', 'doomed', ...ns);
      assert.equal(job.status.failed, 2);
      assert.ok(!job.status.active, `active: ${job.status.active}`);
      const cond = job.status.conditions.find((c: any) => c.type === 'Failed');
      assert.deepEqual({ status: cond.status, reason: cond.reason, message: cond.message }, { status: 'True', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
      assert.equal(failed.size, 2);
    });
  });

  describe('CronJob', SEQUENTIAL, () => {
    const ns = ['-n', 'ctl-cron'];

    it("fires on schedule ('*/1 * * * *': within a minute) and its Job completes", async () => {
      await s.k('apply', '-f', fixture('controllers/cronjob.yaml'));
      const cj = await waitUntil(
        async () => {
          const c = await json('get', 'cronjob', 'tick', ...ns);
          return c.status?.lastSuccessfulTime ? c : undefined;
        },
        'the CronJob to run a Job to completion',
        75_000,
        500,
      );
      const scheduled = Date.parse(cj.status.lastScheduleTime);
      assert.equal(scheduled % 60_000, 0, `scheduled on a minute boundary: ${cj.status.lastScheduleTime}`);
      const jobs = await json('get', 'jobs', ...ns);
      const job = jobs.items.find((j: any) => j.metadata.name === `tick-${scheduled / 60_000}`);
      assert.ok(job, `job tick-${scheduled / 60_000} among ${jobs.items.map((j: any) => j.metadata.name)}`);
      assert.deepEqual(
        job.metadata.ownerReferences.map((o: any) => ({ kind: o.kind, name: o.name, controller: o.controller })),
        [{ kind: 'CronJob', name: 'tick', controller: true }],
      );
      assert.equal(job.status.succeeded, 1);
    });
  });

  describe('Namespace deletion', SEQUENTIAL, () => {
    it('kubectl delete ns --wait removes everything in it', async () => {
      const ns = ['-n', 'ctl-doomed'];
      await s.k('apply', '-f', fixture('controllers/doomed-namespace.yaml'));
      assert.match(await s.k('rollout', 'status', 'deployment/app', ...ns, '--timeout=60s'), /successfully rolled out/);
      await waitUntil(async () => (await json('get', 'endpoints', 'app', ...ns)).subsets?.[0]?.addresses?.length === 3, 'endpoints of app', 20_000, 100);
      await waitUntil(async () => (await s.kubectl(['get', 'serviceaccount', 'default', ...ns])).code === 0, 'the default ServiceAccount', 20_000, 100);
      const r = await s.kubectl(['delete', 'namespace', 'ctl-doomed', '--wait', '--timeout=60s'], { timeoutMs: 70_000 });
      assert.equal(r.code, 0, r.stderr);
      const get = await s.kubectl(['get', 'namespace', 'ctl-doomed']);
      assert.match(get.stderr, /namespaces "ctl-doomed" not found/);
      const left = await s.kubectl([
        'get',
        'pods,replicasets,deployments,services,endpoints,endpointslices,configmaps,secrets,serviceaccounts,jobs,roles,events',
        ...ns,
        '-o',
        'name',
      ]);
      assert.equal(left.stdout.trim(), '', `left in ctl-doomed: ${left.stdout}`);
    });
  });

  describe('Foreground cascading deletion', SEQUENTIAL, () => {
    it('kubectl delete --cascade=foreground removes pods, then the ReplicaSet, then the Deployment', async () => {
      const ns = ['-n', 'ctl-fg'];
      await s.k('apply', '-f', fixture('controllers/foreground.yaml'));
      assert.match(await s.k('rollout', 'status', 'deployment/fg', ...ns, '--timeout=60s'), /successfully rolled out/);
      const fields = ['{.object.metadata.name}', '{.object.metadata.resourceVersion}', '{.object.metadata.finalizers}', '{.object.metadata.deletionTimestamp}'];
      const dep = watch(['deployment', 'fg', ...ns], fields);
      const rs = watch(['replicasets', ...ns, '-l', 'app=fg'], fields);
      const pods = watch(['pods', ...ns, '-l', 'app=fg'], fields);
      await waitUntil(() => dep.events().length >= 1 && rs.events().length >= 1 && pods.events().length >= 3, 'the watches to list the deployment, its ReplicaSet and pods', 10_000);

      const r = await s.kubectl(['delete', 'deployment', 'fg', ...ns, '--cascade=foreground', '--timeout=60s'], { timeoutMs: 70_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await s.kubectl(['get', 'deployment', 'fg', ...ns])).code, 1);
      const deletedRV = (w: { events(): Event[] }) => w.events().filter((e) => e[0] === 'DELETED').map((e) => Number(e[2]));
      await waitUntil(() => deletedRV(dep).length === 1 && deletedRV(rs).length === 1 && deletedRV(pods).length === 3, 'the watches to see every deletion', 10_000);
      await Promise.all([dep.stop(), rs.stop(), pods.stop()]);

      // While its dependents were deleted, the Deployment was still there, marked for deletion and
      // held by the foregroundDeletion finalizer; same for the ReplicaSet and its pods.
      const held = (w: { events(): Event[] }) => w.events().some((e) => e[0] === 'MODIFIED' && e[3].includes('foregroundDeletion') && e[4] !== '');
      assert.ok(held(dep), `deployment events: ${JSON.stringify(dep.events())}`);
      assert.ok(held(rs), `replicaset events: ${JSON.stringify(rs.events())}`);
      // Resource versions order the writes: every pod went before the ReplicaSet, which went before the Deployment.
      const [depGone] = deletedRV(dep);
      const [rsGone] = deletedRV(rs);
      for (const podGone of deletedRV(pods)) assert.ok(podGone < rsGone, `pod deleted at rv ${podGone}, ReplicaSet at ${rsGone}`);
      assert.ok(rsGone < depGone, `ReplicaSet deleted at rv ${rsGone}, Deployment at ${depGone}`);
    });
  });

  describe('Endpoints follow pod readiness', SEQUENTIAL, () => {
    const ns = ['-n', 'ctl-ep'];
    const subsets = async () => {
      const ep = await json('get', 'endpoints', 'echo', ...ns);
      const s0 = ep.subsets?.[0] ?? {};
      return {
        ready: (s0.addresses ?? []).map((a: any) => a.targetRef?.name).sort() as string[],
        notReady: (s0.notReadyAddresses ?? []).map((a: any) => a.targetRef?.name).sort() as string[],
        ports: s0.ports ?? [],
      };
    };
    const setReady = (pod: string, status: 'True' | 'False') =>
      s.k('patch', 'pod', pod, ...ns, '--subresource=status', '--type=strategic', '-p', JSON.stringify({ status: { conditions: [{ type: 'Ready', status, reason: status === 'True' ? null : 'ReadinessProbeFailed' }] } }));

    it('a pod marked not ready moves to notReadyAddresses and back; scaling down removes it', async () => {
      await s.k('apply', '-f', fixture('controllers/endpoints.yaml'));
      assert.match(await s.k('rollout', 'status', 'deployment/echo', ...ns, '--timeout=60s'), /successfully rolled out/);
      const names = (await json('get', 'pods', ...ns, '-l', 'app=echo')).items.map((p: any) => p.metadata.name).sort() as string[];
      assert.equal(names.length, 3);
      await waitUntil(async () => (await subsets()).ready.join() === names.join(), 'three ready addresses', 20_000, 100);
      assert.deepEqual((await subsets()).ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);

      const [victim, ...rest] = names;
      await setReady(victim, 'False');
      await waitUntil(async () => {
        const e = await subsets();
        return e.ready.join() === rest.join() && e.notReady.join() === victim;
      }, `${victim} in notReadyAddresses`, 10_000, 100);
      const table = await s.k('get', 'endpoints', 'echo', ...ns);
      assert.equal(table.split('\n')[1].split(/\s+/)[1].split(',').length, 2, table);
      const slices = await json('get', 'endpointslices', ...ns, '-l', 'kubernetes.io/service-name=echo');
      const ep = slices.items.flatMap((sl: any) => sl.endpoints ?? []).find((e: any) => e.targetRef?.name === victim);
      assert.equal(ep?.conditions?.ready, false);

      await setReady(victim, 'True');
      await waitUntil(async () => {
        const e = await subsets();
        return e.ready.join() === names.join() && e.notReady.length === 0;
      }, `${victim} ready again`, 10_000, 100);

      await s.k('scale', 'deployment/echo', ...ns, '--replicas=1');
      await waitUntil(async () => {
        const e = await subsets();
        return e.ready.length === 1 && e.notReady.length === 0;
      }, 'one address after scaling to 1', 10_000, 100);
    });
  });
});
