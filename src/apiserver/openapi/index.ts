// HTTP entry for the OpenAPI documents: /openapi/v2, /openapi/v3 and /openapi/v3/<group version>.
import { builtinResources } from '../../api/registry.js';
import { metricsOpenAPI } from '../../metrics/openapi.js';
import { buildDocuments, type Built, type OpenAPIDocs } from './documents.js';
import { encodeOpenAPIv2, OPENAPI_V2_PROTOBUF } from './v2-protobuf.js';

export interface OpenAPIResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

export interface OpenAPIOptions {
  /** Whether metrics.k8s.io/v1beta1 is served (its kinds are described then); default true. */
  metrics?: boolean;
}

interface Cached {
  docs: OpenAPIDocs;
  v2Protobuf?: Built;
}

/** Per variant (with or without metrics.k8s.io); built on the first request, not at server start. */
const cache = new Map<boolean, Cached>();

function cached(metrics: boolean): Cached {
  let c = cache.get(metrics);
  if (!c) cache.set(metrics, (c = { docs: buildDocuments(builtinResources, metrics ? [metricsOpenAPI] : []) }));
  return c;
}

/**
 * The v2 document as gnostic protobuf, encoded from the JSON one on the first request for it. Its
 * ETag is the JSON document's, as kube-openapi does (responses vary by Accept).
 */
function v2ProtobufDocument(c: Cached): Built {
  if (c.v2Protobuf) return c.v2Protobuf;
  const json = c.docs.v2;
  return (c.v2Protobuf = { body: encodeOpenAPIv2(JSON.parse(json.body.toString())).body, etag: json.etag });
}

// The encodings of /openapi/v2, as kube-openapi offers them: Accept type -> Content-Type. Both
// spellings of the protobuf type are answered with the dotted one: Go's mime parser (client-go reads
// the response Content-Type) rejects the '@' of the older spelling.
const V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
const V2_TYPES: Record<string, string> = {
  'application/json': 'application/json',
  [OPENAPI_V2_PROTOBUF]: V2_PROTOBUF,
  [V2_PROTOBUF]: V2_PROTOBUF,
};

/**
 * Serves an OpenAPI path; undefined when path is not one. accept is the request's Accept header.
 * /openapi/v2 answers JSON, or gnostic's protobuf Document when Accept prefers it (client-go's
 * OpenAPISchema()); an Accept that names neither gets 406.
 */
export function serveOpenAPI(path: string, query: URLSearchParams, accept: string, opts: OpenAPIOptions = {}): OpenAPIResponse | undefined {
  if (!path.startsWith('/openapi/')) return undefined;
  const c = cached(opts.metrics ?? true);
  const documents = () => c.docs;
  if (path === '/openapi/v2') {
    const type = negotiateV2(accept);
    if (!type) return notAcceptable();
    if (type === 'application/json') return ok(documents().v2, 'no-cache, private');
    const res = ok(v2ProtobufDocument(c), 'no-cache, private');
    res.headers['Content-Type'] = type;
    return res;
  }
  if (path === '/openapi/v3' || path === '/openapi/v3/') return ok(documents().v3Index, 'no-cache, private');
  if (!path.startsWith('/openapi/v3/')) return undefined;
  const gv = path.slice('/openapi/v3/'.length);
  const doc = documents().v3.get(gv);
  if (!doc) return status(404, 'NotFound', `the server could not find the requested resource`);
  const hash = query.get('hash');
  if (hash && hash !== doc.etag) {
    const location = `/openapi/v3/${gv}?hash=${doc.etag}`;
    return { status: 301, headers: { Location: location, 'Content-Type': 'text/plain; charset=utf-8' }, body: Buffer.from(`Moved Permanently: ${location}\n`) };
  }
  const res = ok(doc, hash ? 'public, immutable' : 'no-cache, private');
  if (hash) res.headers.Expires = new Date(Date.now() + 365 * 24 * 3600 * 1000).toUTCString();
  return res;
}

/**
 * The Content-Type of /openapi/v2 for an Accept header: the served type the client ranks highest (by
 * q, then exact types before wildcards, then order); wildcards mean JSON. undefined when nothing
 * acceptable is served.
 */
export function negotiateV2(accept: string): string | undefined {
  if (!accept.trim()) return 'application/json';
  let best: string | undefined;
  let bestScore = 0;
  for (const part of accept.split(',')) {
    const [rawType, ...params] = part.split(';');
    const type = rawType.trim().toLowerCase();
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split('=').map((x) => x.trim());
      if (k === 'q') q = Number(v);
    }
    const wildcard = type === '*/*' || type === 'application/*';
    const served = wildcard ? 'application/json' : V2_TYPES[type];
    const score = q * 2 + (wildcard ? 0 : 1); // q has at most 3 decimals
    if (served && q > 0 && score > bestScore) {
      best = served;
      bestScore = score;
    }
  }
  return best;
}

function ok(doc: Built, cacheControl: string): OpenAPIResponse {
  return {
    status: 200,
    headers: { 'Content-Type': 'application/json', ETag: `"${doc.etag}"`, 'Cache-Control': cacheControl, Vary: 'Accept' },
    body: doc.body,
  };
}

function notAcceptable(): OpenAPIResponse {
  return status(406, 'NotAcceptable', `only the following media types are accepted: ${Object.keys(V2_TYPES).join(', ')}`);
}

function status(code: number, reason: string, message: string): OpenAPIResponse {
  const body = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  return { status: code, headers: { 'Content-Type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) };
}

/** For tests: forget the cached documents (e.g. after the resource list changed). */
export function resetOpenAPICache(): void {
  cache.clear();
}
