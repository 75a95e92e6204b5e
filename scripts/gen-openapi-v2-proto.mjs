// Dev-time generator: writes src/apiserver/openapi/v2-proto.generated.ts, the field table of gnostic's
// `openapi.v2` protobuf messages (the encoding of /openapi/v2 that client-go asks for with
// Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf). The table comes from the
// file descriptor of openapiv2/OpenAPIv2.proto that gnostic-models' generated Go code embeds in every
// kubectl binary (stored raw, not gzipped, by current protoc-gen-go). Not used at run time.
//
// Run: node scripts/gen-openapi-v2-proto.mjs [path/to/kubectl]   (default: the kubectl on PATH), then rebuild.
//      node scripts/gen-openapi-v2-proto.mjs --dump [kubectl]     prints the decoded descriptor instead.
import { readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { gunzipSync, constants as zc } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(root, 'src/apiserver/openapi/v2-proto.generated.ts');
const FILE = 'openapiv2/OpenAPIv2.proto';
const PACKAGE = 'openapi.v2';

// --- a minimal protobuf reader, enough for descriptor.proto -------------------------------------
function* fields(buf) {
  let pos = 0;
  const varint = () => {
    let v = 0, mul = 1, b;
    do {
      if (pos >= buf.length) throw new Error('truncated');
      b = buf[pos++]; v += (b & 0x7f) * mul; mul *= 128;
    } while (b & 0x80);
    return v;
  };
  while (pos < buf.length) {
    const tag = varint();
    const num = Math.floor(tag / 8), wt = tag & 7;
    if (num === 0) throw new Error('field 0');
    if (wt === 0) yield [num, varint(), pos];
    else if (wt === 2) {
      const n = varint();
      if (pos + n > buf.length) throw new Error('truncated');
      yield [num, buf.subarray(pos, pos + n), pos + n];
      pos += n;
    } else if (wt === 1) { yield [num, buf.subarray(pos, pos + 8), pos + 8]; pos += 8; }
    else if (wt === 5) { yield [num, buf.subarray(pos, pos + 4), pos + 4]; pos += 4; }
    else throw new Error('unsupported wire type ' + wt);
  }
}
const str = (b) => Buffer.from(b).toString('utf8');

// FieldDescriptorProto: 1 name, 3 number, 4 label, 5 type, 6 type_name, 9 oneof_index.
function parseField(buf) {
  const f = { name: '', number: 0, label: 1, type: 0, typeName: '', oneof: undefined };
  for (const [n, v] of fields(buf)) {
    if (n === 1) f.name = str(v);
    else if (n === 3) f.number = v;
    else if (n === 4) f.label = v;
    else if (n === 5) f.type = v;
    else if (n === 6) f.typeName = str(v);
    else if (n === 9) f.oneof = v;
  }
  return f;
}
// DescriptorProto: 1 name, 2 field, 8 oneof_decl. gnostic's messages have no nested types.
function parseMessage(buf) {
  const m = { name: '', fields: [], oneofs: [] };
  for (const [n, v] of fields(buf)) {
    if (n === 1) m.name = str(v);
    else if (n === 2) m.fields.push(parseField(v));
    else if (n === 3) throw new Error('nested message types are not expected in ' + FILE);
    else if (n === 8) for (const [on, ov] of fields(v)) if (on === 1) m.oneofs.push(str(ov));
  }
  return m;
}

/**
 * The FileDescriptorProto bytes: the raw descriptor starts with field 1 (name) = FILE. Its length is
 * not stored next to it, so read fields up to `syntax` (12, written last by protoc).
 */
function findDescriptor(bin) {
  const head = Buffer.concat([Buffer.from([0x0a, FILE.length]), Buffer.from(FILE)]);
  for (let i = bin.indexOf(head); i >= 0; i = bin.indexOf(head, i + 1)) {
    const buf = bin.subarray(i, i + 1_000_000);
    try {
      let end = 0, pkg = '';
      for (const [n, v, next] of fields(buf)) {
        if (n === 2) pkg = str(v);
        end = next;
        if (n === 12) break;
      }
      if (pkg === PACKAGE) return buf.subarray(0, end);
    } catch { /* not this one */ }
  }
  // Older protoc-gen-go stored the descriptor gzipped.
  const magic = Buffer.from([0x1f, 0x8b, 0x08]);
  for (let i = bin.indexOf(magic); i >= 0; i = bin.indexOf(magic, i + 1)) {
    let raw;
    try { raw = gunzipSync(bin.subarray(i, i + 1_000_000), { finishFlush: zc.Z_SYNC_FLUSH }); } catch { continue; }
    if (raw.subarray(0, head.length).equals(head)) return raw;
  }
  throw new Error(`descriptor of ${FILE} not found`);
}

function parseFile(buf) {
  let pkg = '';
  const msgs = [];
  for (const [n, v] of fields(buf)) {
    if (n === 2) pkg = str(v);
    else if (n === 4) msgs.push(parseMessage(v));
    else if (n === 5) throw new Error('enums are not expected in ' + FILE);
  }
  if (pkg !== PACKAGE) throw new Error('unexpected package ' + pkg);
  return msgs;
}

const args = process.argv.slice(2);
const dump = args[0] === '--dump';
if (dump) args.shift();
const kubectl = args[0] ?? execFileSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).trim();
const msgs = parseFile(findDescriptor(readFileSync(kubectl)));

// descriptor.proto FieldDescriptorProto.Type -> our letters.
const SCALAR = { 1: 'd', 3: 'i64', 8: 'b', 9: 's' };
function typeOf(m, f) {
  if (f.type === 11) {
    if (f.typeName.startsWith('.' + PACKAGE + '.')) return f.typeName.slice(PACKAGE.length + 2);
    if (f.typeName === '.google.protobuf.Any') return 'y'; // Any.value: never written, kept as bytes
    throw new Error(`unexpected message type ${f.typeName} in ${m.name}.${f.name}`);
  }
  if (!(f.type in SCALAR)) throw new Error(`unsupported type ${f.type} in ${m.name}.${f.name}`);
  return SCALAR[f.type];
}

if (dump) {
  for (const m of msgs) {
    console.log('message ' + m.name + (m.oneofs.length ? ' oneof ' + m.oneofs.join(',') : ''));
    for (const f of m.fields) console.log(`  ${f.label === 3 ? 'repeated ' : ''}${typeOf(m, f)} ${f.name} = ${f.number}${f.oneof !== undefined ? ' (oneof)' : ''}`);
  }
  process.exit(0);
}

const lines = [
  `// Generated by scripts/gen-openapi-v2-proto.mjs from the descriptor of gnostic's ${FILE} (package ${PACKAGE}). Do not edit.`,
  '// Per message: space-separated "number:protoName:type". Types: s string, b bool, d double, i64 int64, y bytes, or a',
  '// message name; [T] repeated. A trailing "|" marks a member of the message\'s oneof.',
  'export const OPENAPI_V2_MESSAGES: Record<string, string> = {',
];
for (const m of [...msgs].sort((a, b) => a.name.localeCompare(b.name))) {
  const fs = [...m.fields].sort((a, b) => a.number - b.number).map((f) => {
    let t = typeOf(m, f);
    if (f.label === 3) t = '[' + t + ']';
    return `${f.number}:${f.name}:${t}${f.oneof !== undefined ? '|' : ''}`;
  });
  lines.push(`  ${m.name}: '${fs.join(' ')}',`);
}
lines.push('};', '');
writeFileSync(OUT, lines.join('\n'));
console.log(`wrote ${OUT}: ${msgs.length} messages`);
