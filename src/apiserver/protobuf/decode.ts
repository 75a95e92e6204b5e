// Decodes Kubernetes protobuf bodies (application/vnd.kubernetes.protobuf) into the JSON objects a JSON
// client would have sent.
//
// Envelope: the 4 bytes "k8s\0", then a runtime.Unknown { typeMeta(1) { apiVersion(1), kind(2) }, raw(2),
// contentEncoding(3), contentType(4) } whose raw is the object's own message.
//
// JSON conventions (those of upstream's JSON encoding): int32/int64 as numbers, bytes as base64, maps from
// their entry messages, and the special messages of schema.ts (Time, IntOrString, Quantity...). Go's generated
// marshaler writes non-pointer scalars even when zero, so absent and zero look alike: empty strings are dropped
// (they mean "unset" for nearly every field), numbers and booleans are kept (pointer fields such as
// replicas: 0 must survive), nested messages are kept even when empty (Go's JSON writes them too), and
// repeated/map fields exist only when they have entries.
import { fieldMessage, keyForKind, messageDef, type FieldDef, type MessageDef, type ScalarType } from './schema.js';
import { formatDuration, formatMicroTime, formatTime } from './formats.js';
import { ProtobufError, Reader, WIRE_LEN, WIRE_VARINT } from './wire.js';

/** The prefix of every Kubernetes protobuf body. */
export const K8S_PROTOBUF_MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export function hasK8sProtobufMagic(body: Uint8Array): boolean {
  return body.length >= 4 && body[0] === 0x6b && body[1] === 0x38 && body[2] === 0x73 && body[3] === 0x00;
}

/**
 * Decodes a Kubernetes protobuf body into its JSON object, with apiVersion and kind from the envelope.
 * Throws ProtobufError (an Error) on malformed input (reason 'Malformed'), kinds without a schema
 * ('UnknownKind') and envelopes it cannot read, such as a content encoding ('Unsupported').
 */
export function decodeK8sProtobuf(body: Uint8Array): Record<string, unknown> {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (!hasK8sProtobufMagic(buf))
    throw new ProtobufError('the body is not a Kubernetes protobuf message: it does not start with the "k8s\\x00" prefix');
  const r = new Reader(buf, 4, buf.length);
  let apiVersion = '';
  let kind = '';
  let rawStart = 0;
  let rawEnd = 0;
  let contentEncoding = '';
  while (r.pos < r.limit) {
    const tag = r.uint32();
    const num = tag >>> 3;
    const wt = tag & 7;
    if (num === 1 && wt === WIRE_LEN) {
      const end = r.lengthEnd();
      const outer = r.limit;
      r.limit = end;
      while (r.pos < end) {
        const t = r.uint32();
        if (t === 0x0a) apiVersion = readString(r);
        else if (t === 0x12) kind = readString(r);
        else r.skip(t & 7);
      }
      r.limit = outer;
    } else if (num === 2 && wt === WIRE_LEN) {
      rawEnd = r.lengthEnd();
      rawStart = r.pos;
      r.pos = rawEnd;
    } else if (num === 3 && wt === WIRE_LEN) {
      contentEncoding = readString(r);
    } else {
      r.skip(wt);
    }
  }
  if (contentEncoding !== '')
    throw new ProtobufError(`unsupported content encoding "${contentEncoding}" in the protobuf envelope`, 'Unsupported');
  if (kind === '') throw new ProtobufError("Object 'Kind' is missing in the protobuf envelope");
  const key = keyForKind(apiVersion, kind);
  if (!key) throw new ProtobufError(`no kind "${kind}" is registered for version "${apiVersion}" in the protobuf schema`, 'UnknownKind');
  const def = messageDef(key)!;
  const out: Record<string, unknown> = { apiVersion, kind };
  r.pos = rawStart;
  r.limit = rawEnd;
  decodeFields(r, def, out);
  return out;
}

/** Decodes the fields of one message, from r.pos to r.limit, into out. */
function decodeFields(r: Reader, def: MessageDef, out: Record<string, unknown>): void {
  while (r.pos < r.limit) {
    const tag = r.uint32();
    const num = tag >>> 3;
    const wt = tag & 7;
    const f = def.byNumber[num];
    if (f === undefined) {
      r.skip(wt); // a field newer than our schema
      continue;
    }
    if (f.map) {
      expectWire(f, def, wt, WIRE_LEN);
      decodeMapEntry(r, f, def, out);
    } else if (f.repeated) {
      let list = out[f.name] as unknown[] | undefined;
      if (list === undefined) out[f.name] = list = [];
      if (f.scalar !== undefined && wt === WIRE_LEN && f.scalar !== 's' && f.scalar !== 'y') {
        // packed numbers or booleans
        const end = r.lengthEnd();
        while (r.pos < end) list.push(readScalar(r, f.scalar));
        if (r.pos !== end) throw new ProtobufError(`malformed protobuf: packed field ${def.key}.${f.name} overruns its length`);
      } else {
        list.push(readValue(r, f, def, wt));
      }
    } else if (f.inline) {
      expectWire(f, def, wt, WIRE_LEN);
      const end = r.lengthEnd();
      const outer = r.limit;
      r.limit = end;
      decodeFields(r, fieldMessage(f), out);
      r.limit = outer;
    } else if (f.scalar !== undefined) {
      const v = readValue(r, f, def, wt);
      if (v === '') delete out[f.name];
      else out[f.name] = v;
    } else {
      expectWire(f, def, wt, WIRE_LEN);
      const prev = out[f.name];
      const msg = fieldMessage(f);
      // a message field seen twice merges, as protobuf specifies
      out[f.name] = msg.special === undefined && prev !== null && typeof prev === 'object' && !Array.isArray(prev)
        ? mergeMessage(r, msg, prev as Record<string, unknown>)
        : readMessage(r, msg);
    }
  }
}

function expectWire(f: FieldDef, def: MessageDef, got: number, want: number): void {
  if (got !== want)
    throw new ProtobufError(`malformed protobuf: field ${def.key}.${f.name} (${f.number}) has wire type ${got}, expected ${want}`);
}

/** One value of a scalar or message field (a single element for repeated fields). */
function readValue(r: Reader, f: FieldDef, def: MessageDef, wt: number): unknown {
  if (f.scalar !== undefined) {
    expectWire(f, def, wt, f.scalar === 's' || f.scalar === 'y' ? WIRE_LEN : WIRE_VARINT);
    return readScalar(r, f.scalar);
  }
  expectWire(f, def, wt, WIRE_LEN);
  return readMessage(r, fieldMessage(f));
}

function readScalar(r: Reader, type: ScalarType): unknown {
  switch (type) {
    case 's':
      return readString(r);
    case 'y': {
      const end = r.lengthEnd();
      const s = r.buf.toString('base64', r.pos, end);
      r.pos = end;
      return s;
    }
    case 'b':
      return r.bool();
    case 'i32':
      return r.int32();
    case 'i64':
      return r.int64();
  }
}

function readString(r: Reader): string {
  const end = r.lengthEnd();
  const s = r.buf.toString('utf8', r.pos, end);
  r.pos = end;
  return s;
}

/** A length-delimited message at r.pos, as its JSON value. */
function readMessage(r: Reader, msg: MessageDef): unknown {
  const end = r.lengthEnd();
  const outer = r.limit;
  r.limit = end;
  let value: unknown;
  if (msg.special === undefined) {
    const obj: Record<string, unknown> = {};
    decodeFields(r, msg, obj);
    value = obj;
  } else {
    value = readSpecial(r, msg);
  }
  r.pos = end;
  r.limit = outer;
  return value;
}

function mergeMessage(r: Reader, msg: MessageDef, into: Record<string, unknown>): Record<string, unknown> {
  const end = r.lengthEnd();
  const outer = r.limit;
  r.limit = end;
  decodeFields(r, msg, into);
  r.limit = outer;
  return into;
}

/** The JSON value of a special message; r.limit is its end. */
function readSpecial(r: Reader, msg: MessageDef): unknown {
  switch (msg.special) {
    case 'time':
    case 'microtime': {
      if (r.pos === r.limit) return null; // the zero time marshals as an empty message
      let seconds = 0;
      let nanos = 0;
      while (r.pos < r.limit) {
        const tag = r.uint32();
        if (tag === 0x08) seconds = r.int64();
        else if (tag === 0x10) nanos = r.int32();
        else r.skip(tag & 7);
      }
      return msg.special === 'time' ? formatTime(seconds) : formatMicroTime(seconds, nanos);
    }
    case 'duration': {
      let ns = 0;
      while (r.pos < r.limit) {
        const tag = r.uint32();
        if (tag === 0x08) ns = r.int64();
        else r.skip(tag & 7);
      }
      return formatDuration(ns);
    }
    case 'intorstring': {
      let type = 0;
      let intVal = 0;
      let strVal = '';
      while (r.pos < r.limit) {
        const tag = r.uint32();
        if (tag === 0x08) type = r.int64();
        else if (tag === 0x10) intVal = r.int32();
        else if (tag === 0x1a) strVal = readString(r);
        else r.skip(tag & 7);
      }
      return type === 1 ? strVal : intVal;
    }
    case 'quantity': {
      let s = '0';
      while (r.pos < r.limit) {
        const tag = r.uint32();
        if (tag === 0x0a) s = readString(r);
        else r.skip(tag & 7);
      }
      return s;
    }
    case 'rawjson': {
      let value: unknown = null;
      while (r.pos < r.limit) {
        const tag = r.uint32();
        if (tag === 0x0a) {
          const end = r.lengthEnd();
          value = parseRaw(r.buf.subarray(r.pos, end), msg.key);
          r.pos = end;
        } else r.skip(tag & 7);
      }
      return value;
    }
    case 'stringlist': {
      const items: string[] = [];
      while (r.pos < r.limit) {
        const tag = r.uint32();
        if (tag === 0x0a) items.push(readString(r));
        else r.skip(tag & 7);
      }
      return items;
    }
  }
  throw new Error(`protobuf: no decoder for special message ${msg.key}`);
}

/** Embedded raw bytes (RawExtension, FieldsV1): JSON, or a nested Kubernetes protobuf object. */
function parseRaw(raw: Buffer, key: string): unknown {
  if (raw.length === 0) return null;
  if (hasK8sProtobufMagic(raw)) return decodeK8sProtobuf(raw);
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (e) {
    throw new ProtobufError(`malformed protobuf: the raw bytes of a ${key} are not JSON: ${(e as Error).message}`);
  }
}

/** One map entry message { key(1), value(2) } into out[f.name]. */
function decodeMapEntry(r: Reader, f: FieldDef, def: MessageDef, out: Record<string, unknown>): void {
  const end = r.lengthEnd();
  const outer = r.limit;
  r.limit = end;
  let key = '';
  let value: unknown;
  while (r.pos < end) {
    const tag = r.uint32();
    const num = tag >>> 3;
    const wt = tag & 7;
    if (num === 1) {
      expectWire(f, def, wt, WIRE_LEN);
      key = readString(r);
    } else if (num === 2) value = readValue(r, f, def, wt);
    else r.skip(wt);
  }
  r.limit = outer;
  if (value === undefined) {
    // an entry without a value holds the type's zero value
    if (f.scalar === 's' || f.scalar === 'y') value = '';
    else if (f.scalar === 'b') value = false;
    else if (f.scalar !== undefined) value = 0;
    else {
      const zero = new Reader(r.buf, end, end);
      value = fieldMessage(f).special === undefined ? {} : readSpecial(zero, fieldMessage(f));
    }
  }
  let map = out[f.name] as Record<string, unknown> | undefined;
  if (map === undefined) out[f.name] = map = {};
  if (key === '__proto__') Object.defineProperty(map, key, { value, enumerable: true, writable: true, configurable: true });
  else map[key] = value;
}
