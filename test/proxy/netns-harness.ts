// A private test network: a "node" network namespace with a bridge (skiff0, 10.42.0.1/24),
// "pod" namespaces on veths into the bridge each running a tiny TCP server, and an "external"
// client namespace routed through the node (10.200.0.0/24). Nothing touches the host's own
// network namespace; teardown kills the servers by PID and deletes every namespace (their
// veths and the bridge go with them).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { netnsRunner, type CommandRunner } from '../../src/proxy/runner.js';

export const NODE_BRIDGE_IP = '10.42.0.1';
export const NODE_EXT_IP = '10.200.0.1';
export const EXT_CLIENT_IP = '10.200.0.2';

// Writes "<name> <client address>\n" on connect, then echoes what it reads.
const SERVER_JS = `
const net = require('net');
const [name, port] = process.argv.slice(1);
net.createServer((s) => {
  s.on('error', () => {});
  s.write(name + ' ' + String(s.remoteAddress).replace('::ffff:', '') + '\\n');
  s.on('data', (d) => s.write(d));
}).listen(Number(port), '0.0.0.0', () => console.log('ready'));
`;

// Makes count sequential connections; prints [{ok, data | err, ms}] as JSON.
const CLIENT_JS = `
const net = require('net');
const [host, port, count, timeout] = process.argv.slice(1);
(async () => {
  const out = [];
  for (let i = 0; i < Number(count); i++) {
    out.push(await new Promise((res) => {
      const t0 = Date.now();
      const s = net.connect(Number(port), host);
      let buf = '';
      let finished = false;
      const done = (r) => { if (finished) return; finished = true; s.destroy(); res({ ...r, ms: Date.now() - t0 }); };
      s.setTimeout(Number(timeout), () => done({ ok: false, err: 'timeout' }));
      s.on('data', (d) => { buf += d; if (buf.includes('\\n')) done({ ok: true, data: buf.trim() }); });
      s.on('error', (e) => done({ ok: false, err: e.code }));
      s.on('close', () => done({ ok: false, err: 'closed' }));
    }));
  }
  console.log(JSON.stringify(out));
})();
`;

// Holds one connection open: prints the greeting, then each echoed line it is fed on stdin.
const PERSISTENT_JS = `
const net = require('net');
const [host, port] = process.argv.slice(1);
const s = net.connect(Number(port), host);
s.on('data', (d) => process.stdout.write(d));
s.on('error', (e) => { console.log('error ' + e.code); process.exit(1); });
s.on('close', () => { console.log('closed'); process.exit(0); });
process.stdin.on('data', (d) => s.write(d));
`;

export interface ConnResult {
  ok: boolean;
  data?: string;
  err?: string;
  ms: number;
}

export interface TestNet {
  node: string;
  pods: Array<{ ns: string; ip: string; name: string }>;
  ext: string;
  runner: CommandRunner;
  /** Runs count sequential connections from inside netns. */
  connect(netns: string, host: string, port: number, count?: number, timeoutMs?: number): Promise<ConnResult[]>;
  /** Opens one long-lived connection from inside netns. */
  persistent(netns: string, host: string, port: number): Promise<{ send(line: string): Promise<string>; close(): void }>;
  teardown(): Promise<void>;
}

function sh(...args: string[]): string {
  return execFileSync(args[0], args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Why the integration tests cannot run here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  const probe = `skiff-tp-probe-${process.pid}`;
  try {
    sh('ip', 'netns', 'add', probe);
  } catch (e) {
    return `cannot create network namespaces: ${(e as Error).message}`;
  }
  try {
    execFileSync('ip', ['netns', 'exec', probe, 'iptables-restore', '--noflush'], { input: '*nat\n:SKIFF-PROBE - [0:0]\n-A SKIFF-PROBE -m statistic --mode random --probability 0.5 -j RETURN\nCOMMIT\n', stdio: ['pipe', 'pipe', 'pipe'] });
    sh('ip', 'netns', 'exec', probe, 'iptables-save', '-t', 'nat');
  } catch (e) {
    return `iptables is unusable: ${(e as Error).message}`;
  } finally {
    try {
      sh('ip', 'netns', 'del', probe);
    } catch {}
  }
  return undefined;
}

function waitForLine(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const t = setTimeout(() => reject(new Error(`no output after ${timeoutMs} ms: ${buf}`)), timeoutMs);
    const onData = (d: Buffer) => {
      buf += d;
      const i = buf.indexOf('\n');
      if (i >= 0) {
        clearTimeout(t);
        child.stdout!.off('data', onData);
        resolve(buf.slice(0, i));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`exited (${code}) before output: ${buf}`));
    });
  });
}

export async function createTestNet(podCount = 3): Promise<TestNet> {
  const prefix = `skiff-tp-${process.pid}`;
  const node = `${prefix}-node`;
  const ext = `${prefix}-ext`;
  const namespaces: string[] = [];
  const children: ChildProcess[] = [];
  const addNs = (name: string) => {
    sh('ip', 'netns', 'add', name);
    namespaces.push(name);
    sh('ip', '-n', name, 'link', 'set', 'lo', 'up');
  };
  const teardown = async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    for (const ns of namespaces.reverse()) {
      try {
        sh('ip', 'netns', 'del', ns);
      } catch {}
    }
  };
  try {
    addNs(node);
    sh('ip', '-n', node, 'link', 'add', 'skiff0', 'type', 'bridge');
    sh('ip', '-n', node, 'addr', 'add', `${NODE_BRIDGE_IP}/24`, 'dev', 'skiff0');
    sh('ip', '-n', node, 'link', 'set', 'skiff0', 'up');
    sh('ip', 'netns', 'exec', node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    // Stands in for a real node's default route: cluster IPs must be routable before DNAT.
    sh('ip', '-n', node, 'route', 'add', '10.96.0.0/12', 'dev', 'skiff0');

    const pods: TestNet['pods'] = [];
    for (let i = 1; i <= podCount; i++) {
      const ns = `${prefix}-p${i}`;
      const ip = `10.42.0.${10 + i}`;
      addNs(ns);
      sh('ip', '-n', node, 'link', 'add', `vp${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      sh('ip', '-n', node, 'link', 'set', `vp${i}`, 'master', 'skiff0', 'up');
      // As the CNI bridge plugin's hairpinMode: a pod reaching itself through a service is
      // bridged back out of the port it came in on.
      sh('ip', '-n', node, 'link', 'set', `vp${i}`, 'type', 'bridge_slave', 'hairpin', 'on');
      sh('ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
      sh('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
      sh('ip', '-n', ns, 'route', 'add', 'default', 'via', NODE_BRIDGE_IP);
      const name = `pod${i}`;
      const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER_JS, name, '8080'], { stdio: ['ignore', 'pipe', 'inherit'] });
      children.push(child);
      await waitForLine(child, 10_000);
      pods.push({ ns, ip, name });
    }

    addNs(ext);
    sh('ip', '-n', node, 'link', 'add', 'vext', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ext);
    sh('ip', '-n', node, 'addr', 'add', `${NODE_EXT_IP}/24`, 'dev', 'vext');
    sh('ip', '-n', node, 'link', 'set', 'vext', 'up');
    sh('ip', '-n', ext, 'addr', 'add', `${EXT_CLIENT_IP}/24`, 'dev', 'eth0');
    sh('ip', '-n', ext, 'link', 'set', 'eth0', 'up');
    sh('ip', '-n', ext, 'route', 'add', 'default', 'via', NODE_EXT_IP);

    return {
      node,
      pods,
      ext,
      runner: netnsRunner(node),
      async connect(netns, host, port, count = 1, timeoutMs = 3000) {
        const r = await netnsRunner(netns).run(process.execPath, ['-e', CLIENT_JS, host, String(port), String(count), String(timeoutMs)]);
        if (r.code !== 0) throw new Error(`client failed (${r.code}): ${r.stderr}`);
        return JSON.parse(r.stdout) as ConnResult[];
      },
      async persistent(netns, host, port) {
        const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '-e', PERSISTENT_JS, host, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] });
        children.push(child);
        await waitForLine(child, 5000);
        return {
          async send(line: string) {
            const p = waitForLine(child, 5000);
            child.stdin!.write(line + '\n');
            return p;
          },
          close() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          },
        };
      },
      teardown,
    };
  } catch (e) {
    await teardown();
    throw e;
  }
}
