// Wires the schema-aware parts (strategic merge patch, server-side apply, managedFields
// tracking, unknown-field detection) into the handlers.
import type { PatchSupport } from './handlers.js';
import type { WriteHooks } from './registry.js';

async function optional(path: string): Promise<any> {
  try {
    return await import(path);
  } catch {
    return undefined;
  }
}

export async function loadPatchSupport(): Promise<PatchSupport & { hooks: WriteHooks }> {
  const [strategic, apply, managed, unknown] = await Promise.all([
    optional('./patch/strategic.js'),
    optional('./patch/apply.js'),
    optional('./patch/managed-fields.js'),
    optional('../api/schema/unknown-fields.js'),
  ]);
  const trackUpdate = managed?.trackUpdate;
  const hooks: WriteHooks = {
    beforeWrite(ctx, r, obj, old, subresource) {
      if (!trackUpdate) return;
      if (ctx.applying) return; // the apply recorded its own Apply entry
      trackUpdate(old, obj, {
        manager: ctx.fieldManager,
        operation: 'Update',
        apiVersion: r.apiVersion,
        subresource,
        now: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
      });
    },
  };
  return {
    strategicMergePatch: strategic?.strategicMergePatch,
    applyPatch: apply?.applyPatch,
    formatConflicts: apply?.formatConflicts,
    unknownFields: unknown?.unknownFields,
    hooks,
  };
}
