import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CycleState, Code } from '../../src/scheduler/framework/types.js';
import { NODE_PORTS, newNodePorts } from '../../src/scheduler/plugins/node-ports.js';
import { makeHandle, makeNode, makePod, nodeInfos } from './plugins-node-fixtures.js';

const portPod = (...ports: Array<[string, string, number]>) =>
  makePod({
    spec: {
      containers: [{ name: 'c', image: 'x', ports: ports.map(([protocol, hostIP, hostPort]) => ({ containerPort: 80, protocol, hostIP, hostPort })) }],
    },
  });

function check(existing: ReturnType<typeof portPod>[], pod: ReturnType<typeof portPod>) {
  const p = newNodePorts(undefined, makeHandle([]));
  const [ni] = nodeInfos([makeNode('n1')], { n1: existing });
  const state = new CycleState();
  const pre = p.preFilter!(state, pod, [ni]);
  if (pre.status.code === Code.Skip) return pre.status;
  return p.filter!(state, pod, ni);
}

test('NodePorts: name, skip for pods without host ports', () => {
  assert.equal(newNodePorts(undefined, makeHandle([])).name, NODE_PORTS);
  assert.equal(check([portPod(['TCP', '', 8080])], makePod()).code, Code.Skip);
  // container ports without hostPort do not count
  const noHost = makePod({ spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 8080 }] }] } });
  assert.equal(check([portPod(['TCP', '', 8080])], noHost).code, Code.Skip);
});

test('NodePorts: same port conflicts, other protocol or port does not', () => {
  const s = check([portPod(['TCP', '', 8080])], portPod(['TCP', '', 8080]));
  assert.equal(s.code, Code.Unschedulable);
  assert.deepEqual(s.reasons, ["node(s) didn't have free ports for the requested pod ports"]);
  assert.ok(check([portPod(['UDP', '', 8080])], portPod(['TCP', '', 8080])).isSuccess());
  assert.ok(check([portPod(['TCP', '', 8081])], portPod(['TCP', '', 8080])).isSuccess());
});

test('NodePorts: 0.0.0.0 wildcard semantics', () => {
  // specific vs. different specific: fine
  assert.ok(check([portPod(['TCP', '127.0.0.1', 8080])], portPod(['TCP', '127.0.0.2', 8080])).isSuccess());
  // specific vs. same specific: conflict
  assert.ok(!check([portPod(['TCP', '127.0.0.1', 8080])], portPod(['TCP', '127.0.0.1', 8080])).isSuccess());
  // wildcard wanted vs. any existing IP: conflict
  assert.ok(!check([portPod(['TCP', '127.0.0.1', 8080])], portPod(['TCP', '0.0.0.0', 8080])).isSuccess());
  assert.ok(!check([portPod(['TCP', '10.0.0.1', 8080])], portPod(['TCP', '', 8080])).isSuccess());
  // specific wanted vs. existing wildcard: conflict
  assert.ok(!check([portPod(['TCP', '0.0.0.0', 8001])], portPod(['TCP', '127.0.0.1', 8001])).isSuccess());
  assert.ok(!check([portPod(['TCP', '', 8001])], portPod(['TCP', '127.0.0.1', 8001])).isSuccess());
  // wildcard, other protocol: fine
  assert.ok(check([portPod(['UDP', '0.0.0.0', 8001])], portPod(['TCP', '127.0.0.1', 8001])).isSuccess());
  // IPv6 unspecified behaves as the wildcard
  assert.ok(!check([portPod(['TCP', '::', 9000])], portPod(['TCP', '10.0.0.1', 9000])).isSuccess());
  // several ports: one conflict is enough
  assert.ok(!check([portPod(['TCP', '127.0.0.1', 8001])], portPod(['UDP', '127.0.0.1', 8001], ['TCP', '0.0.0.0', 8001])).isSuccess());
});
