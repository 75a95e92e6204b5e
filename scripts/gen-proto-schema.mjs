// Dev-time generator: writes src/apiserver/protobuf/schema.generated.ts, the protobuf field table of
// the kinds skiff serves (field numbers, JSON names, types), from the protobuf file descriptors that
// upstream's generated Go code embeds (gzipped) in every kubectl binary. Not used at run time.
//
// Run: node scripts/gen-proto-schema.mjs [path/to/kubectl]   (default: the kubectl on PATH), then rebuild.
//      node scripts/gen-proto-schema.mjs --dump [kubectl]     prints the decoded descriptors instead.
// After `npx tsc -p .`, the field names are cross-checked against the JSON schema model
// (dist/src/api/schema/defs.generated.js) when it exists; mismatches are printed.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { gunzipSync, constants as zc } from 'node:zlib';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(root, 'src/apiserver/protobuf/schema.generated.ts');

// Proto package -> our key prefix (the same prefixes as src/api/schema keys).
const PACKAGES = {
  'k8s.io.api.core.v1': 'core.v1',
  'k8s.io.api.apps.v1': 'apps.v1',
  'k8s.io.api.batch.v1': 'batch.v1',
  'k8s.io.api.coordination.v1': 'coordination.v1',
  'k8s.io.api.discovery.v1': 'discovery.v1',
  'k8s.io.api.events.v1': 'events.v1',
  'k8s.io.api.scheduling.v1': 'scheduling.v1',
  'k8s.io.api.rbac.v1': 'rbac.v1',
  'k8s.io.api.storage.v1': 'storage.v1',
  'k8s.io.api.policy.v1': 'policy.v1',
  'k8s.io.api.autoscaling.v1': 'autoscaling.v1',
  'k8s.io.api.authentication.v1': 'authentication.v1',
  'k8s.io.api.authorization.v1': 'authorization.v1',
  'k8s.io.api.networking.v1': 'networking.v1',
  'k8s.io.apimachinery.pkg.apis.meta.v1': 'meta.v1',
  'k8s.io.apimachinery.pkg.runtime': 'runtime',
  'k8s.io.apimachinery.pkg.runtime.schema': 'schema',
  'k8s.io.apimachinery.pkg.util.intstr': 'intstr',
  'k8s.io.apimachinery.pkg.api.resource': 'resource',
};

// --- a minimal protobuf reader, enough for descriptor.proto -------------------------------------
function* fields(buf) {
  let pos = 0;
  const varint = () => {
    let v = 0, mul = 1, b;
    do { b = buf[pos++]; v += (b & 0x7f) * mul; mul *= 128; } while (b & 0x80);
    return v;
  };
  while (pos < buf.length) {
    const tag = varint();
    const num = Math.floor(tag / 8), wt = tag & 7;
    if (wt === 0) yield [num, varint()];
    else if (wt === 2) { const n = varint(); yield [num, buf.subarray(pos, pos + n)]; pos += n; }
    else if (wt === 1) { yield [num, buf.subarray(pos, pos + 8)]; pos += 8; }
    else if (wt === 5) { yield [num, buf.subarray(pos, pos + 4)]; pos += 4; }
    else throw new Error('unsupported wire type ' + wt);
  }
}
const str = (b) => Buffer.from(b).toString('utf8');

function parseField(buf) {
  const f = { name: '', number: 0, label: 1, type: 0, typeName: '' };
  for (const [n, v] of fields(buf)) {
    if (n === 1) f.name = str(v);
    else if (n === 3) f.number = v;
    else if (n === 4) f.label = v;
    else if (n === 5) f.type = v;
    else if (n === 6) f.typeName = str(v);
    else if (n === 10) f.jsonName = str(v);
  }
  return f;
}
function parseMessage(buf, prefix, out) {
  const m = { name: '', fields: [], mapEntry: false };
  const nested = [];
  for (const [n, v] of fields(buf)) {
    if (n === 1) m.name = str(v);
    else if (n === 2) m.fields.push(parseField(v));
    else if (n === 3) nested.push(v);
    else if (n === 7) for (const [on, ov] of fields(v)) if (on === 7) m.mapEntry = ov === 1;
  }
  m.fullName = prefix + '.' + m.name;
  out.set(m.fullName, m);
  for (const b of nested) parseMessage(b, m.fullName, out);
}
function parseFile(buf, out) {
  let pkg = '', name = '';
  const msgs = [];
  for (const [n, v] of fields(buf)) {
    if (n === 1) name = str(v);
    else if (n === 2) pkg = str(v);
    else if (n === 4) msgs.push(v);
  }
  for (const b of msgs) parseMessage(b, '.' + pkg, out);
  return { name, pkg };
}

// --- find the gzipped descriptors in the binary ---------------------------------------------------
function extract(binPath) {
  const bin = readFileSync(binPath);
  const magic = Buffer.from([0x1f, 0x8b, 0x08]);
  const files = new Map();
  for (let i = bin.indexOf(magic); i >= 0; i = bin.indexOf(magic, i + 1)) {
    let raw;
    try { raw = gunzipSync(bin.subarray(i, i + 1_000_000), { finishFlush: zc.Z_SYNC_FLUSH }); } catch { continue; }
    if (raw[0] !== 0x0a || !raw.subarray(2, 2 + raw[1]).toString('latin1').endsWith('generated.proto')) continue;
    const msgs = new Map();
    const { name, pkg } = parseFile(raw, msgs);
    if (!(pkg in PACKAGES) || files.has(pkg)) continue;
    files.set(pkg, { name, msgs });
  }
  return files;
}

const args = process.argv.slice(2);
const dump = args[0] === '--dump';
if (dump) args.shift();
const kubectl = args[0] ?? execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim();
const files = extract(kubectl);
const missing = Object.keys(PACKAGES).filter((p) => !files.has(p));
if (missing.length) throw new Error('descriptors not found in ' + kubectl + ': ' + missing.join(', '));

const all = new Map();
for (const { msgs } of files.values()) for (const [k, v] of msgs) all.set(k, v);

if (dump) {
  for (const [pkg, { name, msgs }] of files) {
    console.log('# ' + name + ' (' + pkg + ')');
    for (const m of msgs.values()) {
      console.log('message ' + m.fullName + (m.mapEntry ? ' [map_entry]' : ''));
      for (const f of m.fields) console.log(`  ${['', 'optional', 'required', 'repeated'][f.label]} ${f.type === 11 ? f.typeName : 'T' + f.type} ${f.name} = ${f.number}${f.jsonName ? ' json=' + f.jsonName : ''}`);
    }
  }
  process.exit(0);
}

// --- the table ------------------------------------------------------------------------------------
// Fields whose JSON name is not their proto name (Go json tag differs from the protobuf name tag).
const JSON_NAMES = {
  'authentication.v1.BoundObjectReference.uID': 'uid',
  'networking.v1.IngressClassParametersReference.aPIGroup': 'apiGroup',
};
// Embedded structs with `json:",inline"`: their fields are the parent's in JSON. Found by the
// cross-check below against the JSON model; listed here so the table does not depend on it.
const INLINE = new Set([
  'core.v1.ConfigMapEnvSource.localObjectReference',
  'core.v1.ConfigMapKeySelector.localObjectReference',
  'core.v1.ConfigMapProjection.localObjectReference',
  'core.v1.ConfigMapVolumeSource.localObjectReference',
  'core.v1.EphemeralContainer.ephemeralContainerCommon',
  'core.v1.PersistentVolumeSpec.persistentVolumeSource',
  'core.v1.Probe.handler',
  'core.v1.SecretEnvSource.localObjectReference',
  'core.v1.SecretKeySelector.localObjectReference',
  'core.v1.SecretProjection.localObjectReference',
  'core.v1.Volume.volumeSource',
]);
const SCALAR = { 3: 'i64', 5: 'i32', 8: 'b', 9: 's', 12: 'y' };

function keyOf(fullName) {
  const parts = fullName.slice(1).split('.');
  for (let i = parts.length - 1; i > 0; i--) {
    const pkg = parts.slice(0, i).join('.');
    if (pkg in PACKAGES) return PACKAGES[pkg] + '.' + parts.slice(i).join('.');
  }
  throw new Error('type outside the known packages: ' + fullName);
}
function typeOf(f) {
  if (f.type !== 11) {
    if (!(f.type in SCALAR)) throw new Error(`unsupported scalar type ${f.type} for ${f.name}`);
    return SCALAR[f.type];
  }
  return keyOf(f.typeName);
}

const table = new Map(); // key -> [{ number, name, type }]
for (const { msgs } of files.values()) {
  for (const m of msgs.values()) {
    if (m.mapEntry) continue;
    const key = keyOf(m.fullName);
    const out = [];
    for (const f of m.fields) {
      let type;
      const entry = f.type === 11 ? all.get(f.typeName) : undefined;
      if (entry?.mapEntry) {
        const [k, v] = [entry.fields.find((x) => x.number === 1), entry.fields.find((x) => x.number === 2)];
        if (k.type !== 9) throw new Error('non-string map key in ' + key + '.' + f.name);
        type = '{' + typeOf(v) + '}';
      } else {
        type = typeOf(f);
        if (f.label === 3) type = '[' + type + ']';
      }
      const path = key + '.' + f.name;
      const name = INLINE.has(path) ? '*' : (JSON_NAMES[path] ?? f.name);
      out.push({ number: f.number, name, protoName: f.name, type });
    }
    out.sort((a, b) => a.number - b.number);
    table.set(key, out);
  }
}
for (const p of [...INLINE, ...Object.keys(JSON_NAMES)]) {
  const key = p.slice(0, p.lastIndexOf('.'));
  if (!table.get(key)?.some((f) => key + '.' + f.protoName === p)) throw new Error('stale override ' + p);
}

// Cross-check JSON names against the JSON schema model, where it knows the message.
const defsJs = join(root, 'dist/src/api/schema/defs.generated.js');
if (existsSync(defsJs)) {
  const { DEFS } = await import(pathToFileURL(defsJs).href);
  const jsonFields = (key) => DEFS[key] === undefined ? undefined
    : new Set(DEFS[key].split(' ').filter(Boolean).map((p) => p.slice(0, p.indexOf(':')).replace(/!$/, '')));
  const flat = (key, seen = new Set()) => { // JSON names of a message, inline fields expanded
    const names = new Set();
    for (const f of table.get(key) ?? []) {
      if (f.name === '*') for (const n of flat(f.type, seen)) names.add(n);
      else names.add(f.name);
    }
    return names;
  };
  let problems = 0, checked = 0;
  for (const key of table.keys()) {
    const want = jsonFields(key);
    if (!want) continue;
    checked++;
    const have = flat(key);
    const extra = [...have].filter((n) => !want.has(n));
    const lack = [...want].filter((n) => !have.has(n) && n !== 'apiVersion' && n !== 'kind');
    if (extra.length || lack.length) {
      problems++;
      console.log(`${key}: proto-only ${extra.join(',') || '-'}; json-only ${lack.join(',') || '-'}`);
    }
  }
  console.log(`cross-checked ${checked} messages against the JSON model: ${problems} with differences`);
}

const lines = [
  '// Generated by scripts/gen-proto-schema.mjs from the protobuf descriptors of the Kubernetes API types. Do not edit.',
  '// Per message: space-separated "number:jsonName:type". Types: s string, b bool, i32/i64 integers, y bytes, or a',
  '// message key; [T] repeated, {T} map with string keys. jsonName "*" marks an embedded (JSON-inline) message.',
  'export const PROTO_MESSAGES: Record<string, string> = {',
];
for (const key of [...table.keys()].sort()) {
  lines.push(`  '${key}': '${table.get(key).map((f) => `${f.number}:${f.name}:${f.type}`).join(' ')}',`);
}
lines.push('};', '');
writeFileSync(OUT, lines.join('\n'));
console.log(`wrote ${OUT}: ${table.size} messages`);
