// The namespace deletion conditions (upstream pkg/controller/namespace/deletion
// status_condition_utils.go): each type is True with a failure reason while a problem lasts,
// and False with its "ok" reason otherwise, so `kubectl describe ns` explains a stuck deletion.

export interface NamespaceCondition {
  type: string;
  status: 'True' | 'False';
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export const CONDITION_TYPES = [
  'NamespaceDeletionDiscoveryFailure',
  'NamespaceDeletionGroupVersionParsingFailure',
  'NamespaceDeletionContentFailure',
  'NamespaceContentRemaining',
  'NamespaceFinalizersRemaining',
] as const;

const OK: Record<string, { reason: string; message: string }> = {
  NamespaceDeletionDiscoveryFailure: { reason: 'ResourcesDiscovered', message: 'All resources successfully discovered' },
  NamespaceDeletionGroupVersionParsingFailure: { reason: 'ParsedGroupVersions', message: 'All legacy kube types successfully parsed' },
  NamespaceDeletionContentFailure: { reason: 'ContentDeleted', message: 'All content successfully deleted, may be waiting on finalization' },
  NamespaceContentRemaining: { reason: 'ContentRemoved', message: 'All content successfully removed' },
  NamespaceFinalizersRemaining: { reason: 'ContentRemoved', message: 'All content successfully removed' },
};

export function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Collects the problems of one deletion pass and turns them into conditions. */
export class ConditionUpdater {
  private readonly failures: NamespaceCondition[] = [];
  private readonly contentErrors: string[] = [];

  discoveryFailed(failedGroups: Map<string, Error>): void {
    const parts = [...failedGroups].map(([gv, e]) => `${gv}: ${e.message}`).sort();
    const msg = `Discovery failed for some groups, ${failedGroups.size} failing: unable to retrieve the complete list of server APIs: ${parts.join(', ')}`;
    this.failures.push(cond('NamespaceDeletionDiscoveryFailure', 'True', 'DiscoveryFailed', msg));
  }

  discoveryError(e: Error): void {
    this.failures.push(cond('NamespaceDeletionDiscoveryFailure', 'True', 'DiscoveryFailed', e.message));
  }

  contentError(e: Error): void {
    this.contentErrors.push(e.message);
  }

  /** Remaining objects by resource ("pods." → 2) and by finalizer. */
  contentTotals(byResource: Map<string, number>, byFinalizer: Map<string, number>): void {
    const resources = [...byResource].filter(([, n]) => n > 0).map(([r, n]) => `${r} has ${n} resource instances`).sort();
    if (byResource.size)
      this.failures.push(cond('NamespaceContentRemaining', 'True', 'SomeResourcesRemain', `Some resources are remaining: ${resources.join(', ')}`));
    const finalizers = [...byFinalizer].filter(([, n]) => n > 0).map(([f, n]) => `${f} in ${n} resource instances`).sort();
    if (byFinalizer.size)
      this.failures.push(cond('NamespaceFinalizersRemaining', 'True', 'SomeFinalizersRemain', `Some content in the namespace has finalizers remaining: ${finalizers.join(', ')}`));
  }

  /** Applies the collected conditions to status (in place); true when something changed. */
  apply(status: { conditions?: NamespaceCondition[] }): boolean {
    const fresh = [...this.failures];
    if (this.contentErrors.length && !fresh.some((c) => c.type === 'NamespaceDeletionContentFailure')) {
      const msgs = [...this.contentErrors].sort();
      fresh.push(
        cond('NamespaceDeletionContentFailure', 'True', 'ContentDeletionFailed', `Failed to delete all resource types, ${msgs.length} remaining: ${msgs.join(', ')}`),
      );
    }
    let changed = false;
    const conditions = (status.conditions ??= []);
    for (const type of CONDITION_TYPES) {
      const next = fresh.find((c) => c.type === type) ?? cond(type, 'False', OK[type].reason, OK[type].message);
      const old = conditions.find((c) => c.type === type);
      if (!old) {
        conditions.push(next);
        changed = true;
      } else if (old.status !== next.status || old.reason !== next.reason || old.message !== next.message) {
        if (old.status !== next.status) old.lastTransitionTime = next.lastTransitionTime;
        old.status = next.status;
        old.reason = next.reason;
        old.message = next.message;
        changed = true;
      }
    }
    return changed;
  }
}

function cond(type: string, status: 'True' | 'False', reason: string, message: string): NamespaceCondition {
  return { type, status, lastTransitionTime: now(), reason, message };
}
