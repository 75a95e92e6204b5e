// spec.podFailurePolicy: the first rule matching a failed pod decides what its failure means —
// FailJob (fail the whole Job now), Ignore (not counted against backoffLimit), Count (default
// handling), FailIndex (fail only that index; needs backoffLimitPerIndex).
import type { KObject } from '../../api/types.js';

export interface PolicyMatch {
  /** Set when a FailJob rule matched: the Job's failure message. */
  failJobMessage?: string;
  /** Whether the failure counts towards backoffLimit. */
  countFailed: boolean;
  action?: 'FailJob' | 'Ignore' | 'Count' | 'FailIndex';
}

function exitCodeMatches(code: number, req: any): boolean {
  const values: number[] = req?.values ?? [];
  if (req?.operator === 'In') return values.includes(code);
  if (req?.operator === 'NotIn') return !values.includes(code);
  return false;
}

/** The first terminated container (regular, then init) whose non-zero exit code matches req. */
function matchOnExitCodes(pod: KObject, req: any): any {
  for (const list of [pod.status?.containerStatuses, pod.status?.initContainerStatuses]) {
    for (const cs of list ?? []) {
      const term = cs?.state?.terminated;
      if (!term) continue;
      if (req.containerName != null && req.containerName !== cs.name) continue;
      if ((term.exitCode ?? 0) !== 0 && exitCodeMatches(term.exitCode, req)) return cs;
    }
  }
  return undefined;
}

function matchOnPodConditions(pod: KObject, patterns: any[]): any {
  for (const c of pod.status?.conditions ?? []) {
    for (const p of patterns) if (c?.type === p?.type && c?.status === (p?.status || 'True')) return c;
  }
  return undefined;
}

export function matchPodFailurePolicy(policy: any, pod: KObject): PolicyMatch {
  if (!policy) return { countFailed: true };
  const rules: any[] = policy.rules ?? [];
  const ns = pod.metadata?.namespace;
  const name = pod.metadata?.name;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    let matched: 'exit' | 'cond' | undefined;
    let detail: any;
    if (rule?.onExitCodes) {
      detail = matchOnExitCodes(pod, rule.onExitCodes);
      if (detail) matched = 'exit';
    } else if (rule?.onPodConditions) {
      detail = matchOnPodConditions(pod, rule.onPodConditions);
      if (detail) matched = 'cond';
    }
    if (!matched) continue;
    switch (rule.action) {
      case 'Ignore':
        return { countFailed: false, action: 'Ignore' };
      case 'Count':
        return { countFailed: true, action: 'Count' };
      case 'FailIndex':
        return { countFailed: true, action: 'FailIndex' };
      case 'FailJob': {
        const failJobMessage =
          matched === 'exit'
            ? `Container ${detail.name} for pod ${ns}/${name} failed with exit code ${detail.state.terminated.exitCode} matching FailJob rule at index ${i}`
            : `Pod ${ns}/${name} has condition ${detail.type} matching FailJob rule at index ${i}`;
        return { failJobMessage, countFailed: true, action: 'FailJob' };
      }
    }
    // Unknown action: keep looking, as upstream's switch falls out of the rule.
  }
  return { countFailed: true };
}
