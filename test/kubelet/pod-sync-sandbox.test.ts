// Sandbox (re)creation in PodSync against a fake CRI: a failed RunPodSandbox must not make the
// retry reuse the attempt number (containerd refuses a reserved name) nor leave a half-created
// sandbox behind (upstream stops and removes it before trying again).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventRecorder, KObject } from '../../src/client/index.js';
import { Backoff } from '../../src/kubelet/pods/backoff.js';
import { PodSync } from '../../src/kubelet/pods/pod-sync.js';
import { ProbeManager } from '../../src/kubelet/prober/manager.js';
import { FakeRuntime, type SandboxFailure } from './fake-runtime.js';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Recorded {
  type: string;
  reason: string;
  note: string;
}

function setup(failures: SandboxFailure[]) {
  const runtime = new FakeRuntime();
  runtime.sandboxFailures.push(...failures);
  const events: Recorded[] = [];
  const recorder = { event: (_ref: unknown, type: string, reason: string, _action: string, note: string) => events.push({ type, reason, note }) } as unknown as EventRecorder;
  const dir = mkdtempSync(join(tmpdir(), 'skiff-podsync-'));
  dirs.push(dir);
  const probes = new ProbeManager({ runtime, recorder, onChange: () => undefined });
  const sync = new PodSync({
    runtime,
    recorder,
    log: () => undefined,
    probes,
    crashBackoff: new Backoff(),
    pullBackoff: new Backoff(),
    podsDir: join(dir, 'pods'),
    logRoot: join(dir, 'logs'),
    dns: () => ({ host: { servers: ['127.0.0.53'], searches: [], options: [] } }),
    memoryCapacity: 2 ** 30,
    volumes: async () => new Map(),
    envSources: () => ({ configMap: async () => undefined, secret: async () => undefined }),
  });
  return { runtime, sync, events, probes };
}

const pod: KObject = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'web', namespace: 'default', uid: '1111-2222' },
  spec: { restartPolicy: 'Always', containers: [{ name: 'c', image: 'skiff.local/busybox:latest', imagePullPolicy: 'IfNotPresent' }] },
  status: { qosClass: 'BestEffort' },
};

const attempts = (rt: FakeRuntime) => rt.runSandboxConfigs.map((c) => c.metadata.attempt);

describe('sandbox retry after a failed RunPodSandbox', () => {
  for (const failure of ['leak', 'reserve', 'clean'] as const) {
    it(`${failure}: the retry uses the next attempt and the pod runs; nothing of the failed try is left`, async () => {
      const { runtime, sync, events, probes } = setup([failure]);
      await assert.rejects(sync.sync(pod));
      assert.equal(events.filter((e) => e.reason === 'FailedCreatePodSandBox').length, 1);
      if (failure === 'leak') {
        // The half-created sandbox was stopped and removed right away, before any retry.
        const leaked = [...runtime.calls].find((c) => c.startsWith('stopPodSandbox'))?.split(' ')[1];
        assert.ok(leaked, `stopped the leaked sandbox: ${runtime.calls.join(', ')}`);
        assert.ok(runtime.calls.includes(`removePodSandbox ${leaked}`));
        assert.equal(runtime.sandboxes.size, 0);
      }

      const out = await sync.sync(pod);
      assert.deepEqual(attempts(runtime), [0, 1], 'the retry is attempt 1');
      assert.ok(!runtime.calls.some((c) => c.includes('is reserved')));
      const sandboxes = [...runtime.sandboxes.values()];
      assert.equal(sandboxes.length, 1, 'one sandbox: the failed one is gone');
      assert.equal(sandboxes[0].state, 'SANDBOX_READY');
      assert.equal(sandboxes[0].metadata.attempt, 1);
      assert.equal(out.state.containers.filter((c) => c.state === 'CONTAINER_RUNNING').length, 1);
      probes.stop();
    });
  }

  it('two failures in a row: attempts 0, 1, 2; a later sandbox change continues from there', async () => {
    const { runtime, sync, probes } = setup(['reserve', 'leak']);
    await assert.rejects(sync.sync(pod));
    await assert.rejects(sync.sync(pod));
    await sync.sync(pod);
    assert.deepEqual(attempts(runtime), [0, 1, 2]);
    // The sandbox dies (e.g. the host rebooted): the new one is attempt 3, and the dead one,
    // which still holds the container (its restart count lives there), stays until GC.
    const [dead] = [...runtime.sandboxes.values()];
    await runtime.stopPodSandbox(dead.id);
    await sync.sync(pod);
    assert.deepEqual(attempts(runtime), [0, 1, 2, 3]);
    assert.equal([...runtime.sandboxes.values()].filter((s) => s.state === 'SANDBOX_READY').length, 1);
    assert.ok(runtime.sandboxes.has(dead.id), 'the old sandbox with its exited container is kept for the status');
    probes.stop();
  });

  it('without a failure the first sandbox is attempt 0 and removePod forgets the pod', async () => {
    const { runtime, sync, probes } = setup([]);
    await sync.sync(pod);
    assert.deepEqual(attempts(runtime), [0]);
    await sync.removePod('1111-2222');
    assert.equal(runtime.sandboxes.size, 0);
    await sync.sync(pod);
    assert.deepEqual(attempts(runtime), [0, 0], 'a pod removed from the runtime starts over at 0 (its names are free)');
    probes.stop();
  });
});
