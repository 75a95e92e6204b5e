// Node pressure conditions from the host's signals with upstream's default thresholds and
// transition period, real heartbeat times, and the pod's QoS class in its status.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client, KObject } from '../../src/client/index.js';
import { NodeStatusManager, nodeConditions } from '../../src/kubelet/node/node-status.js';
import { hostInfo } from '../../src/kubelet/node/host-info.js';
import { DEFAULT_EVICTION_HARD, PRESSURE_TRANSITION_MS, PressureTracker, pressureOf, readPressureSignals, type PressureSignals } from '../../src/kubelet/node/pressure.js';
import { generatePodStatus } from '../../src/kubelet/pods/pod-status.js';
import { FakeRuntime } from './fake-runtime.js';

const MiB = 2 ** 20;

describe('node pressure', () => {
  it('thresholds: memory.available<100Mi, nodefs.available<10%, nodefs.inodesFree<5%; no PID threshold by default', () => {
    assert.deepEqual(pressureOf({ memoryAvailableBytes: 99 * MiB, nodefsAvailable: 0.5, nodefsInodesFree: 0.5, pidAvailable: 0.001 }), { memory: true, disk: false, pid: false });
    assert.deepEqual(pressureOf({ memoryAvailableBytes: 101 * MiB, nodefsAvailable: 0.09 }), { memory: false, disk: true, pid: false });
    assert.deepEqual(pressureOf({ nodefsAvailable: 0.5, nodefsInodesFree: 0.04 }), { memory: false, disk: true, pid: false });
    assert.deepEqual(pressureOf({ pidAvailable: 0.01 }, { ...DEFAULT_EVICTION_HARD, pidAvailable: 0.05 }), { memory: false, disk: false, pid: true });
    assert.deepEqual(pressureOf({}), { memory: false, disk: false, pid: false }, 'unreadable signals report no pressure');
  });

  it('a pressure stays True for the transition period after its signal last crossed', () => {
    const t = new PressureTracker();
    const on = { memory: true, disk: false, pid: false };
    const off = { memory: false, disk: false, pid: false };
    assert.equal(t.observe(on, 1000).memory, true);
    assert.equal(t.observe(off, 1000 + PRESSURE_TRANSITION_MS - 1).memory, true);
    assert.equal(t.observe(off, 1000 + PRESSURE_TRANSITION_MS).memory, false);
  });

  it('reads this host: memory, the data dir filesystem and threads', () => {
    const s = readPressureSignals('/');
    assert.ok(s.memoryAvailableBytes! > 0);
    assert.ok(s.nodefsAvailable! > 0 && s.nodefsAvailable! <= 1);
    assert.ok(s.nodefsInodesFree! > 0 && s.nodefsInodesFree! <= 1);
    assert.ok(s.pidAvailable! > 0 && s.pidAvailable! <= 1);
  });

  it('the node status carries the measured conditions with current heartbeat times', async () => {
    let signals: PressureSignals = { memoryAvailableBytes: 8 * 2 ** 30, nodefsAvailable: 0.5, nodefsInodesFree: 0.5 };
    const mgr = new NodeStatusManager({
      client: {} as Client,
      nodeName: 'n',
      runtime: new FakeRuntime(),
      host: () => hostInfo('/'),
      log: () => undefined,
      pressureSignals: () => signals,
    });
    const t0 = Date.now();
    let status = await mgr.computeStatus();
    const cond = (type: string) => status.conditions.find((c: KObject) => c.type === type);
    for (const type of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) {
      assert.equal(cond(type).status, 'False');
      assert.ok(Date.parse(cond(type).lastHeartbeatTime) >= Math.floor(t0 / 1000) * 1000, `${type} heartbeat is now`);
    }
    signals = { memoryAvailableBytes: 50 * MiB, nodefsAvailable: 0.05, nodefsInodesFree: 0.5 };
    status = await mgr.computeStatus();
    assert.deepEqual([cond('MemoryPressure').status, cond('MemoryPressure').reason], ['True', 'KubeletHasInsufficientMemory']);
    assert.deepEqual([cond('DiskPressure').status, cond('DiskPressure').reason], ['True', 'KubeletHasDiskPressure']);
    assert.equal(cond('Ready').status, 'True', 'pressure does not make the node NotReady');
    assert.equal(nodeConditions(undefined, { memory: false, disk: false, pid: true })[2].reason, 'KubeletHasInsufficientPID');
  });
});

describe('pod QoS class in the status', () => {
  const pod = (resources: KObject, status: KObject = {}): KObject => ({
    metadata: { name: 'p', namespace: 'default', uid: 'u' },
    spec: { containers: [{ name: 'c', image: 'i', resources }] },
    status,
  });
  const qos = (p: KObject) =>
    generatePodStatus({ pod: p, sandbox: undefined, containers: [], waiting: new Map(), readiness: () => undefined, startup: () => undefined, hostIP: '192.0.2.2', now: new Date() }).qosClass;

  it('computed when the pod has none (a static pod), with the API server rules', () => {
    assert.equal(qos(pod({})), 'BestEffort');
    assert.equal(qos(pod({ requests: { cpu: '0' } })), 'BestEffort', 'zero requests do not count');
    assert.equal(qos(pod({ requests: { cpu: '100m' } })), 'Burstable');
    assert.equal(qos(pod({ limits: { cpu: '1', memory: '64Mi' } })), 'Guaranteed', 'requests default to limits');
    assert.equal(qos(pod({ requests: { cpu: '1', memory: '32Mi' }, limits: { cpu: '1', memory: '64Mi' } })), 'Burstable');
  });

  it('the API server value is kept', () => {
    assert.equal(qos(pod({}, { qosClass: 'Burstable' })), 'Burstable');
  });
});
