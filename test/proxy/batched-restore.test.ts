// The nat table split into several iptables-restore transactions (iptables-nft) holds the same
// rules as one transaction, in an order where each step is consistent; and backend detection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Proxier } from '../../src/proxy/proxier.js';
import { Iptables, parseSave, type IptablesFlavor } from '../../src/proxy/iptables.js';
import { netnsRunner, type CommandRunner } from '../../src/proxy/runner.js';
import { parseIptablesBackend, resolveIptablesBackend } from '../../src/proxy/backend.js';
import { isServiceChain } from '../../src/proxy/chains.js';
import { cleanupProxyRules } from '../../src/proxy/cleanup.js';
import { netnsUnavailable } from './netns-harness.js';
import { service, slice } from './fixtures.js';

function proxierWith(n: number, opts: { maxChainsPerTransaction?: number; runner?: CommandRunner; iptables?: IptablesFlavor } = {}): Proxier {
  const p = new Proxier({ nodeName: 'node-a', minSyncPeriodMs: 0, fullSyncPeriodMs: 0, ...opts });
  for (let i = 0; i < n; i++) {
    const nodePort = i % 2 === 0;
    p.onService(service(`s${i}`, { type: nodePort ? 'NodePort' : 'ClusterIP', clusterIP: `10.96.1.${i + 1}`, ports: [{ name: 'http', port: 80, ...(nodePort ? { nodePort: 30000 + i } : {}) }] }));
    p.onEndpointSlice(slice(`s${i}`, [{ ip: `10.42.0.${2 * i + 2}`, node: 'node-a' }, { ip: `10.42.1.${2 * i + 3}`, node: 'node-b' }]));
  }
  return p;
}

interface Transaction {
  table: string;
  declared: string[];
  rules: string[];
}

function transactions(text: string): Transaction[] {
  const out: Transaction[] = [];
  let cur: Transaction | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) out.push((cur = { table: line.slice(1), declared: [], rules: [] }));
    else if (line.startsWith(':')) cur!.declared.push(line.slice(1).split(' ')[0]);
    else if (line.startsWith('-')) cur!.rules.push(line);
  }
  return out;
}

/** The first full sync's restore text, recorded instead of run (the runner claims nf_tables). */
async function firstSyncText(n: number, maxChainsPerTransaction: number): Promise<string> {
  let text = '';
  const recorder = {
    run: async (cmd: string, _args: string[], input?: string) => {
      if (cmd.endsWith('-restore')) text = input ?? '';
      return { code: 0, stdout: cmd.endsWith('-save') ? '' : 'iptables v1.8.9 (nf_tables)', stderr: '' };
    },
  };
  const p = proxierWith(n, { runner: recorder, maxChainsPerTransaction });
  p.setSynced('services');
  p.setSynced('endpointslices');
  await p.syncNow();
  await p.stop();
  return text;
}

test('batched nat transactions: same rules as one, every jump target filled first, top-level chains last', async () => {
  const one = await firstSyncText(12, 0);
  const batched = await firstSyncText(12, 7);
  const t1 = transactions(one);
  const tb = transactions(batched);
  assert.equal(t1.length, 2);
  assert.ok(tb.length > 4, `expected several transactions, got ${tb.length}`);
  const nat = (ts: Transaction[]) => ts.filter((t) => t.table === 'nat');
  // Same rules and chains overall.
  assert.deepEqual(nat(tb).flatMap((t) => t.rules).sort(), nat(t1)[0].rules.slice().sort());
  assert.deepEqual(nat(tb).flatMap((t) => t.declared).sort(), nat(t1)[0].declared.slice().sort());
  // Each batch stays under the limit (whole services per batch; 3-4 chains per service here).
  for (const t of nat(tb).slice(1, -1)) assert.ok(t.declared.length <= 7, t.declared.join(' '));
  // A jump goes only to a chain declared in the same or an earlier transaction.
  const seen = new Set<string>();
  for (const t of nat(tb)) {
    for (const c of t.declared) seen.add(c);
    for (const r of t.rules) {
      const target = /-j (SKIFF-\S+)/.exec(r)?.[1];
      if (target) assert.ok(seen.has(target), `${r} jumps ahead of ${target}`);
    }
  }
  // SKIFF-SERVICES and SKIFF-NODEPORTS are written in the last transaction, the nodeports jump last.
  const last = nat(tb).at(-1)!;
  assert.deepEqual(last.declared, ['SKIFF-SERVICES', 'SKIFF-NODEPORTS']);
  const services = last.rules.filter((r) => r.startsWith('-A SKIFF-SERVICES '));
  assert.equal(services.length, 13);
  assert.match(services.at(-1)!, /-j SKIFF-NODEPORTS$/);
  assert.ok(nat(tb).slice(0, -1).every((t) => t.rules.every((r) => !r.startsWith('-A SKIFF-SERVICES ') && !r.startsWith('-A SKIFF-NODEPORTS '))));
});

test('--iptables-backend values', () => {
  assert.equal(parseIptablesBackend(undefined), 'auto');
  assert.equal(parseIptablesBackend('legacy'), 'legacy');
  assert.throws(() => parseIptablesBackend('ipvs'), /invalid argument "ipvs" for "--iptables-backend" flag: expected one of auto, nft, legacy, default/);
});

const skip = netnsUnavailable() ?? (hasLegacy() ? undefined : 'no iptables-legacy');

function hasLegacy(): boolean {
  try {
    execFileSync('iptables-legacy', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

test('batched and single restores give the same tables on iptables-nft; auto detection follows existing SKIFF- chains', { skip }, async () => {
  const ns = `skiff-tp-batch-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  const runner = netnsRunner(ns);
  try {
    const saveNat = async (flavor: IptablesFlavor) => {
      const r = await runner.run(`${flavor}-save`, ['-t', 'nat']);
      const t = parseSave(r.stdout).get('nat')!;
      return { chains: [...t.chains].filter(isServiceChain).sort(), rules: t.rules.slice().sort() };
    };
    // Fresh namespace: nothing anywhere, so auto keeps the system's iptables.
    assert.equal((await resolveIptablesBackend('auto', runner)).flavor, 'iptables');

    const a = proxierWith(30, { runner, iptables: 'iptables-nft', maxChainsPerTransaction: 10 });
    a.setSynced('services');
    a.setSynced('endpointslices');
    const ra = await a.syncNow();
    assert.ok(ra.rules.transactions > 5);
    const batched = await saveNat('iptables-nft');
    // A resync over the same rules, then one service gone, in batches too.
    await a.syncNow({ full: true });
    a.onService(service('s3'), true);
    const rd = await a.syncNow();
    assert.equal(rd.rules.deletedChains, 3);
    await a.stop();
    assert.equal((await resolveIptablesBackend('auto', runner)).flavor, 'iptables-nft');

    await new Iptables(runner, 'iptables-nft').restore('*nat\n' + batched.chains.map((c) => `:${c} - [0:0]`).join('\n') + '\n:SKIFF-SERVICES - [0:0]\n:SKIFF-NODEPORTS - [0:0]\n' + batched.chains.map((c) => `-X ${c}`).join('\n') + '\nCOMMIT\n');
    const b = proxierWith(30, { runner, iptables: 'iptables-nft', maxChainsPerTransaction: 0 });
    b.setSynced('services');
    b.setSynced('endpointslices');
    const rb = await b.syncNow();
    assert.equal(rb.rules.transactions, 2);
    await b.stop();
    const single = await saveNat('iptables-nft');
    assert.deepEqual(single.chains, batched.chains);
    assert.deepEqual(single.rules, batched.rules);

    // SKIFF- chains only in legacy: auto picks legacy.
    await cleanupProxyRules({ runner, iptables: 'iptables-nft' });
    await new Iptables(runner, 'iptables-legacy').restore('*nat\n:SKIFF-SERVICES - [0:0]\nCOMMIT\n');
    const choice = await resolveIptablesBackend('auto', runner);
    assert.equal(choice.flavor, 'iptables-legacy', choice.reason);
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
});
