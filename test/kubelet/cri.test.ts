// The CRI client against a real containerd started by the test (skiff's own
// config, local images): pod sandbox and container lifecycle, logs, exec, stats,
// the pause container's signal handling and reaping, and that nothing is left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { containerdSkipReason, startTestContainerd, BUSYBOX_IMAGE, PAUSE_IMAGE, type TestContainerd } from '../helpers/containerd.js';
import { CriError, isCriNotFound, type ContainerConfig, type PodSandboxConfig } from '../../src/kubelet/cri/client.js';

const skip = containerdSkipReason();
let ctr: TestContainerd;

before(async () => {
  if (skip) return;
  ctr = await startTestContainerd();
});

after(async () => {
  await ctr?.stop();
});

function sandboxConfig(name: string, pid: 'POD' | 'CONTAINER' = 'CONTAINER'): PodSandboxConfig {
  const uid = randomUUID();
  return {
    metadata: { name, uid, namespace: 'default', attempt: 0 },
    logDirectory: join(ctr.logDir, `default_${name}_${uid}`),
    labels: { 'io.kubernetes.pod.name': name, 'skiff.test': 'cri' },
    annotations: { 'skiff.test/annotation': 'kept' },
    // Host network: no CNI needed (the kubelet configures a bridge network for real pods).
    linux: { securityContext: { namespaceOptions: { network: 'NODE', pid, ipc: 'POD' } } },
  };
}

function containerConfig(name: string, script: string, pid: 'POD' | 'CONTAINER' = 'CONTAINER'): ContainerConfig {
  return {
    metadata: { name, attempt: 0 },
    image: { image: BUSYBOX_IMAGE },
    command: ['sh', '-c', script],
    envs: [{ key: 'GREETING', value: 'hello' }],
    logPath: `${name}/0.log`,
    labels: { 'io.kubernetes.container.name': name },
    linux: { securityContext: { namespaceOptions: { network: 'NODE', pid, ipc: 'POD' } } },
  };
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** PID of a sandbox's pause process, from the verbose status (containerd's "info" JSON). */
async function sandboxPid(id: string): Promise<number> {
  const st = await ctr.cri.runtime.podSandboxStatus(id, true);
  const info = JSON.parse(st.info.info ?? '{}') as { pid?: number };
  assert.ok(info.pid && info.pid > 0, `no pid in sandbox info: ${st.info.info}`);
  return info.pid;
}

function ctrList(kind: 'containers' | 'tasks'): string[] {
  const r = spawnSync('ctr', ['--address', ctr.socket, '-n', 'k8s.io', kind, 'ls', '-q'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

test('CRI: version, status and images', { skip }, async (t) => {
  t.diagnostic(`containerd start ${ctr.timings.startMs.toFixed(0)}ms, image import ${ctr.timings.importMs.toFixed(0)}ms, snapshotter ${ctr.handle.snapshotter}, pause ${ctr.pauseKind}`);
  const v = await ctr.cri.runtime.version();
  assert.equal(v.runtimeName, 'containerd');
  assert.equal(v.runtimeApiVersion, 'v1');
  assert.match(v.runtimeVersion, /^1\./);

  const st = await ctr.cri.runtime.status();
  const cond = Object.fromEntries((st.status?.conditions ?? []).map((c) => [c.type, c.status]));
  assert.equal(cond.RuntimeReady, true);
  // No CNI config in this test: containerd reports the pod network as not ready.
  assert.equal(cond.NetworkReady, false);

  const images = await ctr.cri.image.listImages();
  const tags = images.flatMap((i) => i.repoTags);
  assert.ok(tags.includes(BUSYBOX_IMAGE), tags.join(','));
  assert.ok(tags.includes(PAUSE_IMAGE), tags.join(','));
  const bb = await ctr.cri.image.imageStatus({ image: BUSYBOX_IMAGE });
  assert.ok(bb.image);
  assert.match(bb.image.id, /^sha256:[0-9a-f]{64}$/);
  assert.ok(bb.image.size > 500_000);
  const missing = await ctr.cri.image.imageStatus({ image: 'skiff.local/nothing:here' });
  assert.equal(missing.image, null);
  const fs = await ctr.cri.image.imageFsInfo();
  assert.ok(fs.imageFilesystems.length >= 1);
  assert.ok(fs.imageFilesystems[0].fsId?.mountpoint.startsWith(ctr.rootDir));
});

test('CRI: pod sandbox and container lifecycle, logs, exec', { skip }, async (t) => {
  const sb = sandboxConfig('hello');
  const t0 = performance.now();
  const podId = await ctr.cri.runtime.runPodSandbox(sb);
  const t1 = performance.now();
  const cId = await ctr.cri.runtime.createContainer(podId, containerConfig('main', 'echo $GREETING; sleep 30'), sb);
  const t2 = performance.now();
  await ctr.cri.runtime.startContainer(cId);
  const t3 = performance.now();
  const running = await ctr.cri.runtime.containerStatus(cId);
  const t4 = performance.now();
  assert.equal(running.status.state, 'CONTAINER_RUNNING');
  t.diagnostic(`raw CRI pod start: RunPodSandbox ${(t1 - t0).toFixed(0)}ms, CreateContainer ${(t2 - t1).toFixed(0)}ms, StartContainer ${(t3 - t2).toFixed(0)}ms, total to RUNNING ${(t4 - t0).toFixed(0)}ms`);

  const pst = await ctr.cri.runtime.podSandboxStatus(podId);
  assert.equal(pst.status.state, 'SANDBOX_READY');
  assert.equal(pst.status.metadata.name, 'hello');
  assert.equal(pst.status.annotations['skiff.test/annotation'], 'kept');
  assert.equal(pst.status.linux?.namespaces?.options?.network, 'NODE');

  const sandboxes = await ctr.cri.runtime.listPodSandbox({ labelSelector: { 'skiff.test': 'cri' } });
  assert.deepEqual(sandboxes.map((s) => s.id), [podId]);
  const list = await ctr.cri.runtime.listContainers({ podSandboxId: podId });
  assert.deepEqual(list.map((c) => [c.id, c.state, c.metadata.name]), [[cId, 'CONTAINER_RUNNING', 'main']]);

  assert.equal(running.status.metadata.name, 'main');
  assert.equal(running.status.logPath, join(sb.logDirectory!, 'main/0.log'));
  assert.ok(running.status.startedAt > running.status.createdAt);
  assert.match(running.status.imageRef, /sha256:/);

  // Container logs in the CRI format: "<RFC3339Nano> stdout F hello".
  const log = await waitFor('log line', () => {
    const p = running.status.logPath;
    return existsSync(p) && readFileSync(p, 'utf8').includes(' stdout F hello') && readFileSync(p, 'utf8');
  });
  assert.match(log, /^\S+ stdout F hello$/m);

  const ex = await ctr.cri.runtime.execSync(cId, ['hostname'], 10);
  assert.equal(ex.exitCode, 0, ex.stderr.toString());
  assert.equal(ex.stdout.toString().trim(), hostname()); // host network shares the node's UTS namespace
  const fail = await ctr.cri.runtime.execSync(cId, ['sh', '-c', 'echo oops >&2; exit 3'], 10);
  assert.equal(fail.exitCode, 3);
  assert.equal(fail.stderr.toString(), 'oops\n');

  const url = await ctr.cri.runtime.exec({ containerId: cId, cmd: ['sh'], stdin: true, stdout: true });
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/exec\//);
  assert.match(await ctr.cri.runtime.attach({ containerId: cId, stdout: true, stderr: true }), /^http:\/\/127\.0\.0\.1:\d+\/attach\//);
  assert.match(await ctr.cri.runtime.portForward(podId, [80]), /^http:\/\/127\.0\.0\.1:\d+\/portforward\//);

  await ctr.cri.runtime.updateContainerResources(cId, { memoryLimitInBytes: 64 * 1024 * 1024, cpuShares: 256 });
  const stats = await ctr.cri.runtime.containerStats(cId);
  assert.equal(stats.attributes?.id, cId);
  assert.ok((stats.memory?.workingSetBytes?.value ?? 0) > 0);
  const allStats = await ctr.cri.runtime.listContainerStats({ podSandboxId: podId });
  assert.deepEqual(allStats.map((s) => s.attributes?.id), [cId]);

  await ctr.cri.runtime.stopContainer(cId, 1);
  const exited = await ctr.cri.runtime.containerStatus(cId);
  assert.equal(exited.status.state, 'CONTAINER_EXITED');
  assert.ok(exited.status.finishedAt > 0);
  assert.equal(exited.status.exitCode, 137); // sh ignores SIGTERM as PID 1, so the grace period ends in SIGKILL
  await ctr.cri.runtime.removeContainer(cId);
  await assert.rejects(ctr.cri.runtime.containerStatus(cId), (err: unknown) => isCriNotFound(err));

  await ctr.cri.runtime.stopPodSandbox(podId);
  assert.equal((await ctr.cri.runtime.podSandboxStatus(podId)).status.state, 'SANDBOX_NOTREADY');
  await ctr.cri.runtime.removePodSandbox(podId);
  await assert.rejects(ctr.cri.runtime.podSandboxStatus(podId), (err: unknown) => err instanceof CriError && isCriNotFound(err));
  // Both are idempotent.
  await ctr.cri.runtime.stopPodSandbox(podId).catch((err) => assert.ok(isCriNotFound(err)));
  await ctr.cri.runtime.removePodSandbox(podId);

  assert.deepEqual(await ctr.cri.runtime.listPodSandbox(), []);
  assert.deepEqual(ctrList('containers'), []);
  assert.deepEqual(ctrList('tasks'), []);
});

test('pause: reaps orphans in a shared PID namespace and exits on SIGTERM', { skip }, async () => {
  const sb = sandboxConfig('reaper', 'POD');
  const podId = await ctr.cri.runtime.runPodSandbox(sb);
  const pausePid = await sandboxPid(podId);
  // The subshell exits at once; its sleep is re-parented to pause (PID 1 of the pod) and must be reaped when it ends.
  const cId = await ctr.cri.runtime.createContainer(podId, containerConfig('orphans', '(sleep 0.2 &); (sleep 0.3 &); sleep 30', 'POD'), sb);
  await ctr.cri.runtime.startContainer(cId);
  await new Promise((r) => setTimeout(r, 1200));
  const zombies = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return fields[0] === 'Z' && Number(fields[1]) === pausePid;
    } catch {
      return false;
    }
  });
  assert.deepEqual(zombies, [], 'pause left zombie children');

  // PID 1 ignores signals it has no handler for; our pause handles SIGTERM and exits.
  process.kill(pausePid, 'SIGTERM');
  await waitFor('sandbox NOTREADY after SIGTERM to pause', async () =>
    (await ctr.cri.runtime.podSandboxStatus(podId)).status.state === 'SANDBOX_NOTREADY', 10_000);

  await ctr.cri.runtime.stopPodSandbox(podId);
  await ctr.cri.runtime.removePodSandbox(podId);
  assert.deepEqual(ctrList('containers'), []);
  assert.deepEqual(ctrList('tasks'), []);
});

test('CRI: calls honour their deadline and report gRPC codes', { skip }, async () => {
  await assert.rejects(ctr.cri.runtime.podSandboxStatus('does-not-exist'), (err: unknown) => isCriNotFound(err));
  await assert.rejects(
    ctr.cri.runtime.execSync('does-not-exist', ['true'], 1),
    (err: unknown) => err instanceof CriError && err.method === 'ExecSync',
  );
  await assert.rejects(ctr.cri.runtime.version('v1', { timeoutMs: 0 }), (err: unknown) => err instanceof CriError && err.code === 4 /* DEADLINE_EXCEEDED */);
});
