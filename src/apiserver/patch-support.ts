// Wires the schema-aware parts (strategic merge patch, server-side apply, managedFields
// tracking, unknown-field detection) into the handlers and the registry's write hook.
import { unknownFields } from '../api/schema/index.js';
import type { PatchSupport } from './handlers.js';
import { applyPatch, formatConflicts, ApplyError } from './patch/apply.js';
import { trackUpdate } from './patch/managed-fields.js';
import { strategicMergePatch } from './patch/strategic.js';
import type { WriteHooks } from './registry.js';
import { badRequest } from './errors.js';
import { nowRFC3339 } from './registry.js';

export function patchSupport(): PatchSupport & { hooks: WriteHooks } {
  const hooks: WriteHooks = {
    beforeWrite(ctx, r, obj, old, subresource) {
      if (ctx.applying) return; // the apply recorded its own Apply entry
      trackUpdate(old, obj, {
        manager: ctx.fieldManager,
        operation: 'Update',
        apiVersion: r.apiVersion,
        subresource,
        statusSubresource: !!r.def.subresources?.status,
        group: r.group,
        kind: r.kind,
        now: nowRFC3339(),
      });
    },
  };
  return {
    strategicMergePatch,
    applyPatch(live, applied, opts) {
      try {
        return applyPatch(live, applied, opts);
      } catch (e) {
        if (e instanceof ApplyError) throw badRequest(e.message);
        throw e;
      }
    },
    formatConflicts,
    unknownFields,
    hooks,
  };
}
