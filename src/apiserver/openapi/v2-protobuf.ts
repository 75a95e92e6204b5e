// The swagger 2.0 document of /openapi/v2 encoded as gnostic's `openapi.v2.Document` protobuf, the
// form client-go reads (kubectl's v2 query-param verifier, `kubectl explain --output
// plaintext-openapiv2`). Field numbers come from the descriptor table generated from kubectl
// (v2-proto.generated.ts); the JSON-to-message mapping follows gnostic's compiler: camelCase keys
// become snake_case fields, `$ref` is `_ref`, `x-*` keys are vendor extensions whose values are
// YAML text, and JSON maps become repeated Named* entries.
import { stringify as yamlStringify } from 'yaml';
import { Writer, WIRE_LEN, WIRE_VARINT } from '../protobuf/wire.js';
import { OPENAPI_V2_MESSAGES } from './v2-proto.generated.js';

/** The media type client-go sends in Accept and expects back as Content-Type. */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

export interface V2ProtoField {
  number: number;
  name: string;
  /** 's' string, 'b' bool, 'd' double, 'i64' int64, 'y' bytes, or a message name. */
  type: string;
  repeated: boolean;
  /** Member of the message's oneof: written even when it holds the zero value. */
  oneof: boolean;
}

export type V2ProtoMessage = Map<string, V2ProtoField>; // by proto field name

let table: Map<string, V2ProtoMessage> | undefined;

/** The gnostic openapi.v2 messages, by name (e.g. "Schema"). */
export function openAPIv2Messages(): Map<string, V2ProtoMessage> {
  if (table) return table;
  table = new Map();
  for (const [name, spec] of Object.entries(OPENAPI_V2_MESSAGES)) {
    const fields: V2ProtoMessage = new Map();
    for (const part of spec.split(' ')) {
      const [num, fname, rawType] = part.split(':');
      const oneof = rawType.endsWith('|');
      let type = oneof ? rawType.slice(0, -1) : rawType;
      const repeated = type.startsWith('[');
      if (repeated) type = type.slice(1, -1);
      fields.set(fname, { number: Number(num), name: fname, type, repeated, oneof });
    }
    table.set(name, fields);
  }
  return table;
}

export interface EncodedV2 {
  body: Buffer;
  /** "Message.key" of JSON members that have no protobuf form (should be empty). */
  skipped: string[];
}

/** Encodes a swagger 2.0 document (parsed JSON) as an openapi.v2.Document. */
export function encodeOpenAPIv2(doc: unknown): EncodedV2 {
  const enc = new Encoder(openAPIv2Messages());
  enc.message('Document', doc);
  return { body: enc.w.finish(), skipped: enc.skipped };
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

const protoNames = new Map<string, string>();

/** JSON member name -> gnostic field name: "$ref" -> "_ref", "operationId" -> "operation_id". */
function protoName(key: string): string {
  let name = protoNames.get(key);
  if (name === undefined) {
    name = key === '$ref' ? '_ref' : key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());
    protoNames.set(key, name);
  }
  return name;
}

// Which member of a oneof message a JSON value selects.
const PARAMETER_LOCATION: Record<string, string> = {
  header: 'header_parameter_sub_schema',
  formData: 'form_data_parameter_sub_schema',
  query: 'query_parameter_sub_schema',
  path: 'path_parameter_sub_schema',
};
const OAUTH2_FLOW: Record<string, string> = {
  implicit: 'oauth2_implicit_security',
  password: 'oauth2_password_security',
  application: 'oauth2_application_security',
  accessCode: 'oauth2_access_code_security',
};

class Encoder {
  readonly w = new Writer();
  readonly skipped: string[] = [];
  /** YAML text of extension values, by their JSON text: most values repeat (GVKs, list types). */
  private yamlCache = new Map<string, string>();

  constructor(private readonly msgs: Map<string, V2ProtoMessage>) {}

  /** Writes the fields of message `name` (its tag and length are the caller's) from a JSON value. */
  message(name: string, v: unknown): void {
    const m = this.msgs.get(name);
    if (!m) throw new Error(`openapi.v2 message ${name} is not in the descriptor table`);
    switch (name) {
      case 'Any':
        this.scalar(m.get('yaml')!, this.yaml(v), true);
        return;
      case 'TypeItem': // "type": "string" or ["string", "null"]
        return this.field(m.get('value')!, Array.isArray(v) ? v : [v], name, 'type');
      case 'StringArray':
        return this.field(m.get('value')!, v, name, 'value');
      case 'ItemsItem': // "items": a schema or a list of schemas
        return this.field(m.get('schema')!, Array.isArray(v) ? v : [v], name, 'items');
      case 'AdditionalPropertiesItem':
        return this.field(m.get(typeof v === 'boolean' ? 'boolean' : 'schema')!, v, name, 'additionalProperties');
      case 'Parameter':
        return this.field(m.get(isObject(v) && v.in === 'body' ? 'body_parameter' : 'non_body_parameter')!, v, name, 'in');
      case 'NonBodyParameter':
        return this.oneof(m, isObject(v) ? PARAMETER_LOCATION[String(v.in)] : undefined, v, name);
      case 'ParametersItem':
        return this.field(m.get(isObject(v) && '$ref' in v ? 'json_reference' : 'parameter')!, v, name, '$ref');
      case 'ResponseValue':
        return this.field(m.get(isObject(v) && '$ref' in v ? 'json_reference' : 'response')!, v, name, '$ref');
      case 'SchemaItem':
        return this.field(m.get(isObject(v) && v.type === 'file' ? 'file_schema' : 'schema')!, v, name, 'type');
      case 'SecurityDefinitionsItem': {
        const type = isObject(v) ? String(v.type) : '';
        const member = type === 'basic' ? 'basic_authentication_security' : type === 'apiKey' ? 'api_key_security'
          : type === 'oauth2' && isObject(v) ? OAUTH2_FLOW[String(v.flow)] : undefined;
        return this.oneof(m, member, v, name);
      }
      case 'Paths': // "/path": PathItem, plus x-* extensions
        return this.namedMap(m, 'path', v, name);
      case 'Responses': // "200": Response, plus x-* extensions
        return this.namedMap(m, 'response_code', v, name);
    }
    const entries = m.get('additional_properties');
    if (entries && m.size === 1) return this.namedMap(m, 'additional_properties', v, name);
    this.object(m, v, name);
  }

  /** A plain object: each JSON member is the field of the same (snake_case) name. */
  private object(m: V2ProtoMessage, v: unknown, name: string): void {
    if (!isObject(v)) return void this.skipped.push(`${name} (not an object)`);
    const ext = m.get('vendor_extension');
    for (const key in v) {
      const value = v[key];
      if (value === undefined) continue;
      if (key.startsWith('x-') && ext) {
        this.named(ext, key, value);
        continue;
      }
      const f = m.get(protoName(key));
      if (f) this.field(f, value, name, key);
      else this.skipped.push(`${name}.${key}`);
    }
  }

  /** A JSON map: each member is a Named* entry { name, value } of entriesField; x-* members are extensions. */
  private namedMap(m: V2ProtoMessage, entriesField: string, v: unknown, name: string): void {
    if (!isObject(v)) return void this.skipped.push(`${name} (not an object)`);
    const entries = m.get(entriesField)!;
    const ext = m.get('vendor_extension');
    for (const key in v) {
      const value = v[key];
      if (value === undefined) continue;
      this.named(key.startsWith('x-') && ext ? ext : entries, key, value);
    }
  }

  /** One Named* message (1: name, 2: value) as an element of the repeated field f. */
  private named(f: V2ProtoField, key: string, value: unknown): void {
    const entry = this.msgs.get(f.type)!;
    const w = this.w;
    w.tag(f.number, WIRE_LEN);
    w.fork();
    this.scalar(entry.get('name')!, key, false);
    this.field(entry.get('value')!, value, f.type, key);
    w.join();
  }

  private oneof(m: V2ProtoMessage, member: string | undefined, v: unknown, name: string): void {
    const f = member ? m.get(member) : undefined;
    if (f) this.field(f, v, name, member!);
    else this.skipped.push(`${name} (no member for this value)`);
  }

  private field(f: V2ProtoField, v: unknown, parent: string, key: string): void {
    if (f.repeated) {
      if (!Array.isArray(v)) return void this.skipped.push(`${parent}.${key} (not a list)`);
      for (const item of v) this.single(f, item, parent, key, true);
    } else this.single(f, v, parent, key, f.oneof);
  }

  private single(f: V2ProtoField, v: unknown, parent: string, key: string, always: boolean): void {
    if (this.msgs.has(f.type)) {
      const w = this.w;
      w.tag(f.number, WIRE_LEN);
      w.fork();
      this.message(f.type, v);
      w.join();
    } else if (!this.scalar(f, v, always)) this.skipped.push(`${parent}.${key}`);
  }

  /** Writes a scalar field; proto3 leaves out zero values unless `always`. False when v does not fit. */
  private scalar(f: V2ProtoField, v: unknown, always: boolean): boolean {
    const w = this.w;
    switch (f.type) {
      case 's':
        if (typeof v !== 'string') return false;
        if (v !== '' || always) {
          w.tag(f.number, WIRE_LEN);
          w.string(v);
        }
        return true;
      case 'b':
        if (typeof v !== 'boolean') return false;
        if (v || always) {
          w.tag(f.number, WIRE_VARINT);
          w.uvarint(v ? 1 : 0);
        }
        return true;
      case 'i64':
        if (typeof v !== 'number' || !Number.isSafeInteger(v)) return false;
        if (v !== 0 || always) {
          w.tag(f.number, WIRE_VARINT);
          w.svarint(v);
        }
        return true;
      default: // 'd' (fixed64: the shared Writer has no raw-bytes write yet) and 'y'
        return false;
    }
  }

  private yaml(v: unknown): string {
    const key = JSON.stringify(v);
    let out = this.yamlCache.get(key);
    if (out === undefined) {
      out = yamlStringify(v);
      this.yamlCache.set(key, out);
    }
    return out;
  }
}
