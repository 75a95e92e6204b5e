// skiff's containerd supervision and image import against real containerd:
// restart after a crash (containers survive in their shims), the agent's
// images/ directory import, the native snapshotter, and taking over from a
// containerd an earlier agent left running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { containerdSkipReason, startTestContainerd, waitForCriImages, BUSYBOX_IMAGE, PAUSE_IMAGE, type TestContainerd } from '../helpers/containerd.js';
import { CriClient, type PodSandboxConfig } from '../../src/kubelet/cri/client.js';
import { importImageDir } from '../../src/images/import.js';
import { startContainerd } from '../../src/kubelet/containerd/supervisor.js';
import { renderContainerdConfig } from '../../src/kubelet/containerd/config.js';
import { teardownContainerdState } from '../../src/kubelet/containerd/cleanup.js';
import { containerdPaths } from '../../src/kubelet/containerd/paths.js';

const skip = containerdSkipReason();

function hostNetworkPod(ctr: TestContainerd, name: string): PodSandboxConfig {
  const uid = randomUUID();
  return {
    metadata: { name, uid, namespace: 'default' },
    logDirectory: join(ctr.logDir, uid),
    linux: { securityContext: { namespaceOptions: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
  };
}

async function runSleeper(ctr: TestContainerd, name: string): Promise<{ podId: string; cId: string }> {
  const sb = hostNetworkPod(ctr, name);
  const podId = await ctr.cri.runtime.runPodSandbox(sb);
  const cId = await ctr.cri.runtime.createContainer(podId, {
    metadata: { name: 'sleep' },
    image: { image: BUSYBOX_IMAGE },
    command: ['sleep', '60'],
    logPath: 'sleep.log',
    linux: { securityContext: { namespaceOptions: { network: 'NODE', pid: 'CONTAINER', ipc: 'POD' } } },
  }, sb);
  await ctr.cri.runtime.startContainer(cId);
  return { podId, cId };
}

test('config: containerd 1.6 v2 config with our root, state, socket, CRI settings', () => {
  const toml = renderContainerdConfig({
    rootDir: '/d/agent/containerd', stateDir: '/d/run', socket: '/d/run/c.sock', cniBinDir: '/usr/lib/cni',
    cniConfDir: '/d/cni', sandboxImage: PAUSE_IMAGE, snapshotter: 'overlayfs', restrictOomScoreAdj: true,
  });
  for (const line of [
    'version = 2', 'root = "/d/agent/containerd"', 'state = "/d/run"', 'address = "/d/run/c.sock"',
    `sandbox_image = "${PAUSE_IMAGE}"`, 'snapshotter = "overlayfs"', 'runtime_type = "io.containerd.runc.v2"',
    'SystemdCgroup = false', 'bin_dir = "/usr/lib/cni"', 'conf_dir = "/d/cni"', 'restrict_oom_score_adj = true',
    'stream_server_address = "127.0.0.1"',
  ]) assert.ok(toml.includes(line), line);
  assert.match(toml, /disabled_plugins = \[.*io\.containerd\.snapshotter\.v1\.btrfs.*\]/);
  const p = containerdPaths('/var/lib/skiff');
  assert.equal(p.socket, '/var/lib/skiff/agent/run/containerd/containerd.sock');
  assert.equal(p.imagesDir, '/var/lib/skiff/agent/images');
});

test('supervisor: containerd killed -> restarted; running containers survive; CRI reconnects', { skip }, async (t) => {
  const ctr = await startTestContainerd();
  try {
    const { cId } = await runSleeper(ctr, 'survivor');
    const oldPid = ctr.handle.pid!;
    const t0 = performance.now();
    process.kill(oldPid, 'SIGKILL');
    const deadline = Date.now() + 20_000;
    while ((ctr.handle.pid === undefined || ctr.handle.pid === oldPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await ctr.handle.waitReady();
    t.diagnostic(`restart after SIGKILL: ${(performance.now() - t0).toFixed(0)}ms (1s backoff included)`);
    assert.notEqual(ctr.handle.pid, oldPid);
    assert.equal(ctr.handle.restarts, 1);
    assert.equal(readFileSync(ctr.handle.pidFile, 'utf8'), String(ctr.handle.pid));
    // The same client reconnects on its own.
    assert.equal((await ctr.cri.runtime.version()).runtimeName, 'containerd');
    assert.equal((await ctr.cri.runtime.containerStatus(cId)).status.state, 'CONTAINER_RUNNING');
    const ex = await ctr.cri.runtime.execSync(cId, ['echo', 'still here'], 10);
    assert.equal(ex.stdout.toString(), 'still here\n');
  } finally {
    await ctr.stop();
  }
});

test('images dir import (native snapshotter): archives imported, broken ones reported', { skip }, async () => {
  const ctr = await startTestContainerd({ snapshotter: 'native', importImages: false });
  try {
    assert.equal(ctr.handle.snapshotter, 'native');
    const dir = join(ctr.dir, 'agent-images');
    mkdirSync(dir);
    copyFileSync(ctr.imageFiles.busybox, join(dir, 'busybox.tar'));
    copyFileSync(ctr.imageFiles.pause, join(dir, 'pause.tar'));
    writeFileSync(join(dir, 'broken.tar'), 'this is not a tar archive');
    writeFileSync(join(dir, 'README'), 'ignored');
    const results = await importImageDir(dir, ctr.socket, { snapshotter: 'native' });
    assert.deepEqual(results.map((r) => [r.file.slice(dir.length + 1), r.images, !!r.error]), [
      ['broken.tar', [], true],
      ['busybox.tar', [BUSYBOX_IMAGE], false],
      ['pause.tar', [PAUSE_IMAGE], false],
    ]);
    await waitForCriImages(ctr.cri, [BUSYBOX_IMAGE, PAUSE_IMAGE]);
    const { cId } = await runSleeper(ctr, 'native');
    assert.equal((await ctr.cri.runtime.containerStatus(cId)).status.state, 'CONTAINER_RUNNING');
  } finally {
    await ctr.stop();
  }
});

test('startContainerd takes over from a containerd left running by an earlier agent', { skip }, async () => {
  const dir = mkdtempSync('/tmp/skiff-ctrd-');
  const o = {
    rootDir: join(dir, 'root'), stateDir: join(dir, 'state'), socket: join(dir, 'c.sock'),
    cniConfDir: join(dir, 'cni'), sandboxImage: PAUSE_IMAGE,
  };
  // The "crashed" agent's containerd: no supervision, never stopped through its handle.
  const first = await startContainerd({ ...o, restart: false });
  const firstPid = first.pid!;
  const second = await startContainerd(o);
  try {
    assert.notEqual(second.pid, firstPid);
    assert.throws(() => process.kill(firstPid, 0), 'the old containerd was stopped');
    const cri = new CriClient(o.socket);
    assert.equal((await cri.runtime.version()).runtimeName, 'containerd');
    cri.close();
  } finally {
    await second.stop();
    await first.stop();
    teardownContainerdState({ ...o, removeDirs: true });
    rmSync(dir, { recursive: true, force: true });
    assert.equal(spawnSync('sh', ['-c', `grep -c ${dir} /proc/self/mountinfo`], { encoding: 'utf8' }).stdout.trim(), '0');
  }
});

test('startContainerd fails fast when the binary is missing', async () => {
  const dir = mkdtempSync('/tmp/skiff-ctrd-');
  try {
    const t0 = Date.now();
    await assert.rejects(
      startContainerd({
        rootDir: join(dir, 'root'), stateDir: join(dir, 'state'), socket: join(dir, 'c.sock'), cniConfDir: join(dir, 'cni'),
        sandboxImage: PAUSE_IMAGE, snapshotter: 'native', containerdPath: join(dir, 'no-such-containerd'),
      }),
      /cannot start .*no-such-containerd: .*ENOENT/,
    );
    assert.ok(Date.now() - t0 < 5000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
