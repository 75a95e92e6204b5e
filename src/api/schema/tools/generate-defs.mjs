// Dev-time generator: writes src/api/schema/defs.generated.ts, the field table of the built-in
// kinds, from the model metadata shipped by @kubernetes/client-node (a dev dependency; an
// OpenAPI-generated client, so its field names and types follow the upstream spec).
// Run: node src/api/schema/tools/generate-defs.mjs   (then rebuild). Not used at run time.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const modelsDir = join(here, '../../../../node_modules/@kubernetes/client-node/dist/gen/models');
const out = join(here, '../defs.generated.ts');

// Kinds to start from, per API package, in an order that names shared types after their home
// package (core first so PodSpec etc. stay core).
const ROOTS = {
  'core.v1': ['V1Namespace', 'V1Pod', 'V1Service', 'V1Endpoints', 'V1ConfigMap', 'V1Secret', 'V1ServiceAccount', 'V1Node',
    'CoreV1Event', 'V1LimitRange', 'V1ResourceQuota', 'V1PersistentVolume', 'V1PersistentVolumeClaim', 'V1PodTemplate',
    'V1Binding', 'V1TopologySelectorTerm', 'V1ReplicationController'],
  'meta.v1': ['V1Status', 'V1DeleteOptions', 'V1APIResourceList', 'V1Condition', 'V1WatchEvent'],
  'apps.v1': ['V1Deployment', 'V1ReplicaSet', 'V1StatefulSet', 'V1DaemonSet', 'V1ControllerRevision'],
  'batch.v1': ['V1Job', 'V1CronJob'],
  'coordination.v1': ['V1Lease'],
  'discovery.v1': ['V1EndpointSlice'],
  'events.v1': ['EventsV1Event'],
  'scheduling.v1': ['V1PriorityClass'],
  'rbac.v1': ['V1Role', 'V1RoleBinding', 'V1ClusterRole', 'V1ClusterRoleBinding'],
  'storage.v1': ['V1StorageClass'],
  'policy.v1': ['V1PodDisruptionBudget', 'V1Eviction'],
  'autoscaling.v1': ['V1Scale', 'V1HorizontalPodAutoscaler'],
  'autoscaling.v2': ['V2HorizontalPodAutoscaler'],
};
const LISTED = ['V1Namespace', 'V1Pod', 'V1Service', 'V1Endpoints', 'V1ConfigMap', 'V1Secret', 'V1ServiceAccount', 'V1Node',
  'CoreV1Event', 'V1LimitRange', 'V1ResourceQuota', 'V1PersistentVolume', 'V1PersistentVolumeClaim', 'V1Deployment',
  'V1ReplicaSet', 'V1StatefulSet', 'V1DaemonSet', 'V1ControllerRevision', 'V1Job', 'V1CronJob', 'V1Lease', 'V1EndpointSlice',
  'EventsV1Event', 'V1PriorityClass', 'V1Role', 'V1RoleBinding', 'V1ClusterRole', 'V1ClusterRoleBinding', 'V1StorageClass',
  'V1PodDisruptionBudget', 'V1PodTemplate', 'V1ReplicationController', 'V1HorizontalPodAutoscaler', 'V2HorizontalPodAutoscaler'];
const META = new Set(['ObjectMeta', 'ListMeta', 'LabelSelector', 'LabelSelectorRequirement', 'OwnerReference',
  'ManagedFieldsEntry', 'Status', 'StatusDetails', 'StatusCause', 'DeleteOptions', 'Preconditions', 'Condition',
  'APIResource', 'APIResourceList', 'WatchEvent']);
const PREFIX_PKG = { CoreV1: 'core.v1', DiscoveryV1: 'discovery.v1', EventsV1: 'events.v1', RbacV1: 'rbac.v1' };
// Map-of-string fields that upstream types as map[string]Quantity, and scalar quantities.
const QTY_MAPS = new Set(['limits', 'requests', 'capacity', 'allocatable', 'hard', 'used', 'max', 'min', 'default',
  'defaultRequest', 'maxLimitRequestRatio', 'overhead', 'allocatedResources']);
const QTY_SCALARS = new Set(['sizeLimit']);

function load(cls) {
  const js = readFileSync(join(modelsDir, cls + '.js'), 'utf8');
  const dts = readFileSync(join(modelsDir, cls + '.d.ts'), 'utf8');
  const attrs = [...js.matchAll(/"name": "([^"]+)",\s*"baseName": "([^"]+)",\s*"type": "([^"]+)",\s*"format": "([^"]*)"/g)]
    .map((m) => ({ name: m[2], type: m[3], format: m[4] }));
  const required = new Set([...dts.matchAll(/^\s+'([^']+)': /gm)].map((m) => m[1]));
  return { attrs, required };
}

const known = new Set(readdirSync(modelsDir).filter((f) => f.endsWith('.js')).map((f) => f.slice(0, -3)));
const names = new Map(); // client-node class -> our key ("core.v1.Container")
const defs = new Map();
const queue = [];

function keyFor(cls, pkg) {
  const pre = Object.keys(PREFIX_PKG).find((p) => cls.startsWith(p));
  if (pre) return PREFIX_PKG[pre] + '.' + cls.slice(pre.length);
  const short = cls.replace(/^V1/, '');
  if (META.has(short)) return 'meta.v1.' + short;
  return pkg + '.' + short;
}
function visit(cls, pkg) {
  if (names.has(cls)) return names.get(cls);
  if (!known.has(cls)) throw new Error('unknown model ' + cls);
  const key = keyFor(cls, pkg);
  names.set(cls, key);
  queue.push([cls, key.split('.').slice(0, 2).join('.')]);
  return key;
}
function typeOf(t, fmt, field, pkg) {
  let m;
  if ((m = /^Array<(.+)>$/.exec(t))) return '[' + typeOf(m[1], fmt, '', pkg) + ']';
  if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(t))) {
    if (m[1] === 'string' && QTY_MAPS.has(field)) return '{qty}';
    return '{' + typeOf(m[1], fmt, '', pkg) + '}';
  }
  switch (t) {
    case 'string': return fmt === 'byte' ? 'byte' : QTY_SCALARS.has(field) ? 'qty' : 's';
    case 'number': return fmt === 'int32' ? 'i32' : fmt === 'int64' ? 'i64' : 'f64';
    case 'boolean': return 'b';
    case 'Date': return fmt === 'date-time-micro' ? 'mtime' : 'time';
    case 'IntOrString': return 'ios';
    case 'V1MicroTime': return 'mtime';
    case 'any': return 'any';
    default: return visit(t, pkg);
  }
}

for (const [pkg, roots] of Object.entries(ROOTS)) {
  for (const r of roots) visit(r, pkg);
  if (pkg === 'core.v1' || pkg === 'meta.v1' || true) {
    for (const r of roots) if (LISTED.includes(r)) visit(r.replace(/$/, 'List'), pkg);
  }
  while (queue.length) {
    const [cls, p] = queue.shift();
    const { attrs, required } = load(cls);
    const fields = attrs.map((a) => (a.name + (required.has(a.name) ? '!' : '') + ':' + typeOf(a.type, a.format, a.name, p)));
    defs.set(names.get(cls), fields.join(' '));
  }
}

const lines = [...defs.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `  '${k}': '${v}',`);
writeFileSync(out, `// Generated by src/api/schema/tools/generate-defs.mjs: fields of the built-in kinds and the types they use.
// Format per definition: space-separated "field:type" ("field!" = required). Types: s string, i32/i64 integers,
// f64 number, b boolean, byte base64 string, time/mtime Time/MicroTime, ios IntOrString, qty Quantity,
// any (free-form JSON), [T] list, {T} map with string keys, or another definition's key.
export const DEFS: Record<string, string> = {
${lines.join('\n')}
};
`);
console.log('wrote', defs.size, 'definitions to', out);
