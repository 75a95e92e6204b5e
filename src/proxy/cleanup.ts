// Removes everything the proxy put in iptables: the jump rules from built-in (or other) chains
// into ours, then our chains themselves, in one iptables-restore per table set.
import { isProxyChain } from './chains.js';
import { Iptables, type IptablesFlavor } from './iptables.js';
import { hostRunner, type CommandRunner } from './runner.js';

export interface CleanupOptions {
  runner?: CommandRunner;
  iptables?: IptablesFlavor;
}

export interface CleanupResult {
  chains: number;
  jumps: number;
}

export async function cleanupProxyRules(opts: CleanupOptions = {}): Promise<CleanupResult> {
  const ipt = new Iptables(opts.runner ?? hostRunner, opts.iptables ?? 'iptables');
  const saved = await ipt.save('filter', 'nat');
  const out: string[] = [];
  const result: CleanupResult = { chains: 0, jumps: 0 };
  for (const [table, t] of saved) {
    const ours = [...t.chains].filter(isProxyChain);
    const jumps: string[] = [];
    for (const rule of t.rules) {
      const chain = rule.split(' ', 2)[1];
      if (isProxyChain(chain)) continue;
      const m = / -[jg] (\S+)/.exec(rule);
      if (m && isProxyChain(m[1])) jumps.push('-D' + rule.slice(2));
    }
    if (ours.length === 0 && jumps.length === 0) continue;
    out.push(`*${table}`);
    // Declaring a chain flushes it, so nothing references our chains once the jumps are gone.
    for (const c of ours) out.push(`:${c} - [0:0]`);
    out.push(...jumps);
    for (const c of ours) out.push(`-X ${c}`);
    out.push('COMMIT');
    result.chains += ours.length;
    result.jumps += jumps.length;
  }
  if (out.length > 0) await ipt.restore(out.join('\n') + '\n');
  return result;
}
