// Container environment (upstream's makeEnvironmentVariables): envFrom sources, then env in
// order with $(VAR) expansion against what is defined so far, valueFrom from the downward API
// (fieldRef, resourceFieldRef), ConfigMaps and Secrets. Failures are CreateContainerConfigError.
import type { KObject } from '../../client/index.js';
import { parseQuantity } from '../../api/validation.js';
import type { KeyValue } from '../runtime/types.js';

/** A config error the pod's status reports as CreateContainerConfigError. */
export class ContainerConfigError extends Error {}

export interface EnvSources {
  /** The ConfigMap/Secret, or undefined when it does not exist. */
  configMap(ns: string, name: string): Promise<KObject | undefined>;
  secret(ns: string, name: string): Promise<KObject | undefined>;
  podIP?: string;
  podIPs?: string[];
  hostIP?: string;
  hostIPs?: string[];
  /** Node allocatable, the default of resourceFieldRef limits when the container sets none. */
  nodeAllocatable?: Record<string, string>;
  /** Service links (KUBERNETES_SERVICE_HOST, ...) that come first and may be overridden. */
  serviceEnv?: KeyValue[];
}

const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/**
 * Expands $(VAR) references with the vars known so far: "$$" is a literal "$", and an
 * unknown reference is left as written (upstream's expansion package).
 */
export function expand(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  for (let i = 0; i < input.length; i++) {
    const c = input[i];
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      continue;
    }
    const next = input[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const end = input.indexOf(')', i + 2);
      if (end < 0) {
        out += input.slice(i);
        break;
      }
      const name = input.slice(i + 2, end);
      const v = lookup(name);
      out += v !== undefined ? v : `$(${name})`;
      i = end;
    } else {
      out += c;
    }
  }
  return out;
}

function podFieldValue(pod: KObject, path: string, src: EnvSources): string {
  const md = pod.metadata ?? {};
  const sub = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (sub) return (md[sub[1]] ?? {})[sub[2]] ?? '';
  switch (path) {
    case 'metadata.name':
      return md.name ?? '';
    case 'metadata.namespace':
      return md.namespace ?? '';
    case 'metadata.uid':
      return md.uid ?? '';
    case 'metadata.labels':
      return formatMap(md.labels);
    case 'metadata.annotations':
      return formatMap(md.annotations);
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? pod.spec?.serviceAccount ?? '';
    case 'status.podIP':
      return src.podIP ?? '';
    case 'status.podIPs':
      return (src.podIPs ?? (src.podIP ? [src.podIP] : [])).join(',');
    case 'status.hostIP':
      return src.hostIP ?? '';
    case 'status.hostIPs':
      return (src.hostIPs ?? (src.hostIP ? [src.hostIP] : [])).join(',');
    default:
      throw new ContainerConfigError(`unsupported fieldRef fieldPath: ${path}`);
  }
}

/** key="value" lines, sorted, as the downward API renders label and annotation maps. */
export function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join('\n');
}

/** The value of a resourceFieldRef (limits.cpu rounded up to the divisor, memory in divisor units). */
export function resourceFieldValue(container: KObject, ref: KObject, allocatable: Record<string, string> = {}): string {
  const [kind, res] = String(ref.resource ?? '').split('.', 2) as [string, string];
  if ((kind !== 'limits' && kind !== 'requests') || !['cpu', 'memory', 'ephemeral-storage'].includes(res)) {
    if (kind === 'limits' || kind === 'requests') {
      if (res?.startsWith('hugepages-')) return String(parseQuantity(container.resources?.[kind]?.[res] ?? '0'));
    }
    throw new ContainerConfigError(`unsupported container resource: ${ref.resource}`);
  }
  const set = container.resources?.[kind]?.[res];
  let value = set !== undefined ? parseQuantity(set) : NaN;
  if (Number.isNaN(value)) value = kind === 'limits' ? parseQuantity(allocatable[res] ?? '0') : 0;
  const divisor = ref.divisor !== undefined ? parseQuantity(ref.divisor) : 1;
  if (!(divisor > 0)) throw new ContainerConfigError(`invalid divisor ${ref.divisor}`);
  // Round up as upstream does (cpu "250m" with divisor 1 is "1").
  return String(Math.ceil(value / divisor - 1e-9));
}

function dataOf(obj: KObject, secret: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  if (secret) {
    for (const [k, v] of Object.entries<string>(obj.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
    for (const [k, v] of Object.entries<string>(obj.stringData ?? {})) out[k] = v;
  } else {
    for (const [k, v] of Object.entries<string>(obj.data ?? {})) out[k] = v;
    for (const [k, v] of Object.entries<string>(obj.binaryData ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  }
  return out;
}

/** The container's environment in definition order (a later definition replaces an earlier one in place). */
export async function resolveEnv(pod: KObject, container: KObject, src: EnvSources): Promise<KeyValue[]> {
  const ns = pod.metadata?.namespace ?? 'default';
  const vars = new Map<string, string>();
  for (const kv of src.serviceEnv ?? []) vars.set(kv.key, kv.value);

  for (const from of container.envFrom ?? []) {
    const prefix: string = from.prefix ?? '';
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref) continue;
    const isSecret = !!from.secretRef;
    const obj = isSecret ? await src.secret(ns, ref.name) : await src.configMap(ns, ref.name);
    if (!obj) {
      if (ref.optional) continue;
      throw new ContainerConfigError(`${isSecret ? 'secret' : 'configmap'} "${ref.name}" not found`);
    }
    for (const [k, v] of Object.entries(dataOf(obj, isSecret))) {
      const name = prefix + k;
      if (ENV_NAME.test(name)) vars.set(name, v);
    }
  }

  for (const e of container.env ?? []) {
    let value: string | undefined;
    if (e.valueFrom) {
      const vf = e.valueFrom;
      if (vf.fieldRef) value = podFieldValue(pod, vf.fieldRef.fieldPath, src);
      else if (vf.resourceFieldRef) {
        const target = vf.resourceFieldRef.containerName
          ? [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((c: KObject) => c.name === vf.resourceFieldRef.containerName) ?? container
          : container;
        value = resourceFieldValue(target, vf.resourceFieldRef, src.nodeAllocatable);
      } else if (vf.configMapKeyRef || vf.secretKeyRef) {
        const isSecret = !!vf.secretKeyRef;
        const ref = vf.configMapKeyRef ?? vf.secretKeyRef;
        const obj = isSecret ? await src.secret(ns, ref.name) : await src.configMap(ns, ref.name);
        if (!obj) {
          if (ref.optional) continue;
          throw new ContainerConfigError(`${isSecret ? 'secret' : 'configmap'} "${ref.name}" not found`);
        }
        const data = dataOf(obj, isSecret);
        if (!(ref.key in data)) {
          if (ref.optional) continue;
          throw new ContainerConfigError(`couldn't find key ${ref.key} in ${isSecret ? 'Secret' : 'ConfigMap'} ${ns}/${ref.name}`);
        }
        value = data[ref.key];
      }
    } else {
      value = expand(e.value ?? '', (n) => vars.get(n));
    }
    if (value !== undefined) vars.set(e.name, value);
  }
  return [...vars].map(([key, value]) => ({ key, value }));
}

/** Expands $(VAR) in command and args with the final environment. */
export function expandCommand(list: string[] | undefined, env: KeyValue[]): string[] | undefined {
  if (!list) return undefined;
  const m = new Map(env.map((kv) => [kv.key, kv.value]));
  return list.map((s) => expand(s, (n) => m.get(n)));
}
