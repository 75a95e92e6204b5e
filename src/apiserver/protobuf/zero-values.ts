// Go's protobuf marshaler writes non-pointer scalars even when zero, so a decoded body cannot
// tell "unset" from 0/false. For the non-pointer fields that clients commonly leave at zero,
// drop the zero value so the stored object matches what a JSON client would have sent
// (pointer fields such as spec.replicas keep their zeros: 0 there is meaningful).
const ZERO_IS_UNSET = new Set([
  'generation',
  'hostPort',
  'nodePort',
  'healthCheckNodePort',
  'minReadySeconds',
  'stdin',
  'stdinOnce',
  'tty',
  'readOnly',
  'observedGeneration',
  'restartCount',
  'paused',
  'hostIPC',
  'hostNetwork',
  'hostPID',
  'unschedulable',
  'publishNotReadyAddresses',
  'globalDefault',
  'initialDelaySeconds',
  'timeoutSeconds',
  'periodSeconds',
  'successThreshold',
  'failureThreshold',
]);

export function dropUnsetZeros(value: unknown): void {
  if (Array.isArray(value)) {
    for (const v of value) dropUnsetZeros(v);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const obj = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(obj)) {
    if ((v === 0 || v === false) && ZERO_IS_UNSET.has(k)) delete obj[k];
    else if (typeof v === 'object') dropUnsetZeros(v);
  }
}
