// Priority admission (upstream plugin/pkg/admission/priority): a pod's priorityClassName sets its
// spec.priority (and preemptionPolicy) from the PriorityClass; without one, the global default
// class applies; an unknown class is refused.
import type { KObject } from '../../api/types.js';
import { ApiError } from '../errors.js';
import type { AdmissionEnv } from './index.js';
import type { AdmissionAttributes, MutatingAdmission } from './types.js';

export class PriorityAdmission implements MutatingAdmission {
  readonly name = 'Priority';
  constructor(private readonly env: AdmissionEnv) {}

  async admit(a: AdmissionAttributes): Promise<void> {
    if (a.operation !== 'CREATE' || a.resource.group !== '' || a.resource.plural !== 'pods') return;
    const pcs = this.env.resource('scheduling.k8s.io/v1/priorityclasses');
    if (!pcs) return;
    const spec = (a.obj.spec ??= {});
    let pc: KObject | undefined;
    if (spec.priorityClassName) {
      pc = this.env.registry.entry(pcs, undefined, spec.priorityClassName)?.obj;
      if (!pc)
        throw new ApiError(403, 'Forbidden', `pods "${a.obj.metadata?.name ?? ''}" is forbidden: no PriorityClass with name ${spec.priorityClassName} was found`, {
          name: a.obj.metadata?.name,
          kind: 'pods',
        });
    } else {
      pc = this.env.registry.list(pcs).find((c) => c.globalDefault === true);
      if (!pc) return;
      spec.priorityClassName = pc.metadata!.name;
    }
    spec.priority = pc.value;
    if (pc.preemptionPolicy) spec.preemptionPolicy = pc.preemptionPolicy;
  }
}
