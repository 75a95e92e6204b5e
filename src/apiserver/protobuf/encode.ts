// Encodes JSON objects of the built-in kinds as Kubernetes protobuf bodies: the inverse of decode.ts,
// for protobuf responses and for tests. Fields absent from the JSON are not written; map entries are
// written in sorted key order, as upstream's marshaler does.
import { fieldMessage, keyForKind, messageDef, type FieldDef, type MessageDef, type ScalarType } from './schema.js';
import { parseDuration, parseTime } from './formats.js';
import { K8S_PROTOBUF_MAGIC } from './decode.js';
import { ProtobufError, Writer, WIRE_LEN, WIRE_VARINT } from './wire.js';

/** Encodes an object (with apiVersion and kind) as "k8s\0" + runtime.Unknown. */
export function encodeK8sProtobuf(obj: Record<string, unknown>): Buffer {
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  const key = keyForKind(apiVersion, kind);
  if (!key) throw new ProtobufError(`no kind "${kind}" is registered for version "${apiVersion}" in the protobuf schema`, 'UnknownKind');
  const w = new Writer();
  w.tag(1, WIRE_LEN); // typeMeta
  w.fork();
  w.tag(1, WIRE_LEN);
  w.string(apiVersion);
  w.tag(2, WIRE_LEN);
  w.string(kind);
  w.join();
  w.tag(2, WIRE_LEN); // raw
  w.fork();
  writeFields(w, messageDef(key)!, obj, key);
  w.join();
  w.tag(3, WIRE_LEN); // contentEncoding
  w.string('');
  w.tag(4, WIRE_LEN); // contentType
  w.string('');
  return Buffer.concat([K8S_PROTOBUF_MAGIC, w.finish()]);
}

/** Encodes an object as the bare message of a schema key ("core.v1.Pod"), without the envelope. */
export function encodeMessage(key: string, obj: Record<string, unknown>): Buffer {
  const def = messageDef(key);
  if (!def) throw new ProtobufError(`no protobuf message ${key}`, 'UnknownKind');
  const w = new Writer();
  writeFields(w, def, obj, key);
  return Buffer.from(w.finish());
}

function writeFields(w: Writer, def: MessageDef, obj: Record<string, unknown>, path: string): void {
  for (const f of def.fields) {
    if (f.inline) {
      w.tag(f.number, WIRE_LEN);
      w.fork();
      writeFields(w, fieldMessage(f), obj, path);
      w.join();
      continue;
    }
    const v = obj[f.name];
    if (v === undefined || v === null) continue;
    const where = path + '.' + f.name;
    if (f.map) {
      if (typeof v !== 'object' || Array.isArray(v)) throw new Error(`${where}: expected an object`);
      const map = v as Record<string, unknown>;
      for (const k of Object.keys(map).sort()) {
        w.tag(f.number, WIRE_LEN);
        w.fork();
        w.tag(1, WIRE_LEN);
        w.string(k);
        writeValue(w, 2, f, map[k], where + '.' + k);
        w.join();
      }
    } else if (f.repeated) {
      if (!Array.isArray(v)) throw new Error(`${where}: expected an array`);
      for (let i = 0; i < v.length; i++) writeValue(w, f.number, f, v[i], `${where}[${i}]`);
    } else {
      writeValue(w, f.number, f, v, where);
    }
  }
}

function writeValue(w: Writer, num: number, f: FieldDef, v: unknown, where: string): void {
  if (f.scalar !== undefined) return writeScalar(w, num, f.scalar, v, where);
  const msg = fieldMessage(f);
  w.tag(num, WIRE_LEN);
  w.fork();
  if (msg.special === undefined) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`${where}: expected an object`);
    writeFields(w, msg, v as Record<string, unknown>, msg.key);
  } else {
    writeSpecial(w, msg, v, where);
  }
  w.join();
}

function writeScalar(w: Writer, num: number, type: ScalarType, v: unknown, where: string): void {
  switch (type) {
    case 's':
      if (typeof v !== 'string') throw new Error(`${where}: expected a string`);
      w.tag(num, WIRE_LEN);
      w.string(v);
      return;
    case 'y':
      if (typeof v !== 'string') throw new Error(`${where}: expected a base64 string`);
      w.tag(num, WIRE_LEN);
      w.bytes(Buffer.from(v, 'base64'));
      return;
    case 'b':
      if (typeof v !== 'boolean') throw new Error(`${where}: expected a boolean`);
      w.tag(num, WIRE_VARINT);
      w.uvarint(v ? 1 : 0);
      return;
    case 'i32':
    case 'i64':
      if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`${where}: expected an integer`);
      w.tag(num, WIRE_VARINT);
      w.svarint(v);
      return;
  }
}

function writeSpecial(w: Writer, msg: MessageDef, v: unknown, where: string): void {
  switch (msg.special) {
    case 'time':
    case 'microtime': {
      if (typeof v !== 'string') throw new Error(`${where}: expected a time string`);
      const { seconds, nanos } = parseTime(v);
      w.tag(1, WIRE_VARINT);
      w.svarint(seconds);
      w.tag(2, WIRE_VARINT);
      w.svarint(msg.special === 'time' ? 0 : nanos);
      return;
    }
    case 'duration':
      if (typeof v !== 'string') throw new Error(`${where}: expected a duration string`);
      w.tag(1, WIRE_VARINT);
      w.svarint(parseDuration(v));
      return;
    case 'intorstring': {
      const isString = typeof v === 'string';
      if (!isString && (typeof v !== 'number' || !Number.isInteger(v))) throw new Error(`${where}: expected an integer or a string`);
      w.tag(1, WIRE_VARINT);
      w.uvarint(isString ? 1 : 0);
      w.tag(2, WIRE_VARINT);
      w.svarint(isString ? 0 : (v as number));
      w.tag(3, WIRE_LEN);
      w.string(isString ? v : '');
      return;
    }
    case 'quantity':
      if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`${where}: expected a quantity string`);
      w.tag(1, WIRE_LEN);
      w.string(String(v));
      return;
    case 'rawjson':
      w.tag(1, WIRE_LEN);
      w.string(JSON.stringify(v));
      return;
    case 'stringlist':
      if (!Array.isArray(v)) throw new Error(`${where}: expected an array of strings`);
      for (const item of v) {
        if (typeof item !== 'string') throw new Error(`${where}: expected an array of strings`);
        w.tag(1, WIRE_LEN);
        w.string(item);
      }
      return;
  }
}
