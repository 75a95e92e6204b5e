// A fallback for CNI bridge's masquerade rules: its DEL only removes the CNI-* chain of a
// sandbox when it still finds the pod's interface, so a DEL that runs after the interface is
// gone (seen rarely with containerd 1.6) leaves the chain and its POSTROUTING jump behind.
// After a sandbox is removed, any nat rule commented with its id goes, and so do its chains.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CNI_NETWORK_NAME } from './cni-config.js';

const run = promisify(execFile);

/** Removes leftover masquerade rules/chains of these sandbox ids; returns the chains removed. */
export async function cleanupMasqRules(sandboxIds: string[], network = CNI_NETWORK_NAME): Promise<string[]> {
  if (!sandboxIds.length) return [];
  let rules: string;
  try {
    rules = (await run('iptables', ['-w', '5', '-t', 'nat', '-S', 'POSTROUTING'])).stdout;
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const line of rules.split('\n')) {
    const hit = sandboxIds.find((id) => line.includes(`name: \\"${network}\\" id: \\"${id}\\"`));
    if (!hit || !line.startsWith('-A POSTROUTING ')) continue;
    const chain = /-j (CNI-[0-9a-f]+)/.exec(line)?.[1];
    // Re-issue the rule spec as a delete (the spec is shell-quoted in -S output).
    const spec = parseRuleSpec(line.slice('-A POSTROUTING '.length));
    try {
      await run('iptables', ['-w', '5', '-t', 'nat', '-D', 'POSTROUTING', ...spec]);
    } catch {
      continue;
    }
    if (chain) {
      await run('iptables', ['-w', '5', '-t', 'nat', '-F', chain]).catch(() => undefined);
      await run('iptables', ['-w', '5', '-t', 'nat', '-X', chain]).catch(() => undefined);
      removed.push(chain);
    }
  }
  return removed;
}

/** Splits an iptables -S rule into arguments, honouring double quotes and \" escapes. */
export function parseRuleSpec(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let has = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      has = true;
    } else if (c === '"') {
      quoted = !quoted;
      has = true;
    } else if (c === ' ' && !quoted) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}
