// Which iptables backend the proxy drives. "auto" follows what k3s and upstream's
// iptables-wrapper do: use the backend that already holds the node's rules, so ours sit
// beside the CNI plugins' and the kubelet's instead of in a second, parallel ruleset.
import type { IptablesFlavor } from './iptables.js';
import type { CommandRunner } from './runner.js';

export type IptablesBackend = 'auto' | 'nft' | 'legacy' | 'default';

export const IPTABLES_BACKENDS: readonly IptablesBackend[] = ['auto', 'nft', 'legacy', 'default'];

/** Parses a --iptables-backend value (kube-proxy style message on error). */
export function parseIptablesBackend(value: string | undefined, flag = '--iptables-backend'): IptablesBackend {
  if (value === undefined || value === '') return 'auto';
  if ((IPTABLES_BACKENDS as readonly string[]).includes(value)) return value as IptablesBackend;
  throw new Error(`invalid argument "${value}" for "${flag}" flag: expected one of ${IPTABLES_BACKENDS.join(', ')}`);
}

export interface BackendChoice {
  flavor: IptablesFlavor;
  reason: string;
}

interface SaveSummary {
  rules: number;
  ours: boolean;
}

async function summarize(runner: CommandRunner, flavor: IptablesFlavor): Promise<SaveSummary | undefined> {
  const r = await runner.run(`${flavor}-save`, []);
  if (r.code !== 0) return undefined;
  let rules = 0;
  let ours = false;
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('-A ')) rules++;
    else if (line.startsWith(':SKIFF-')) ours = true;
  }
  return { rules, ours };
}

/**
 * Resolves a backend to the command family to run. For "auto": the backend that already has
 * SKIFF- chains (a restarted proxy keeps its backend); otherwise legacy only when it holds
 * more rules than nft (a legacy node), else the system's `iptables`.
 */
export async function resolveIptablesBackend(backend: IptablesBackend | IptablesFlavor, runner: CommandRunner): Promise<BackendChoice> {
  if (backend === 'nft' || backend === 'iptables-nft') return { flavor: 'iptables-nft', reason: 'requested' };
  if (backend === 'legacy' || backend === 'iptables-legacy') return { flavor: 'iptables-legacy', reason: 'requested' };
  if (backend === 'default' || backend === 'iptables') return { flavor: 'iptables', reason: 'requested' };
  const [nft, legacy] = await Promise.all([summarize(runner, 'iptables-nft'), summarize(runner, 'iptables-legacy')]);
  if (!nft && !legacy) return { flavor: 'iptables', reason: 'neither iptables-nft-save nor iptables-legacy-save ran' };
  if (!legacy) return { flavor: 'iptables-nft', reason: 'no iptables-legacy' };
  if (!nft) return { flavor: 'iptables-legacy', reason: 'no iptables-nft' };
  if (nft.ours !== legacy.ours) return nft.ours ? { flavor: 'iptables-nft', reason: 'SKIFF- chains already in nft' } : { flavor: 'iptables-legacy', reason: 'SKIFF- chains already in legacy' };
  if (legacy.rules > nft.rules) return { flavor: 'iptables-legacy', reason: `legacy holds more rules (${legacy.rules} > ${nft.rules})` };
  return { flavor: 'iptables', reason: `system default (nft ${nft.rules} rules, legacy ${legacy.rules})` };
}
