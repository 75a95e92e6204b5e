// HTTP entry for the OpenAPI documents: /openapi/v2, /openapi/v3 and /openapi/v3/<group version>.
import { builtinResources } from '../../api/registry.js';
import { buildDocuments, type Built, type OpenAPIDocs } from './documents.js';

export interface OpenAPIResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

let docs: OpenAPIDocs | undefined;

/** Built on the first request, not at server start. */
function documents(): OpenAPIDocs {
  return (docs ??= buildDocuments(builtinResources));
}

const PROTOBUF_V2 = 'application/com.github.proto-openapi.spec.v2';

/**
 * Serves an OpenAPI path; undefined when path is not one. accept is the request's Accept header.
 * /openapi/v2 answers JSON; a client that accepts only the protobuf encoding gets 406, which
 * client-go's callers (kubectl apply) treat as "no OpenAPI v2" and fall back to built-in types.
 */
export function serveOpenAPI(path: string, query: URLSearchParams, accept: string): OpenAPIResponse | undefined {
  if (path === '/openapi/v2') {
    if (!acceptsJSON(accept)) return notAcceptable(accept);
    return ok(documents().v2, 'no-cache, private');
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

function acceptsJSON(accept: string): boolean {
  if (!accept) return true;
  return accept.split(',').some((part) => {
    const type = part.split(';')[0].trim().toLowerCase();
    return type === 'application/json' || type === '*/*' || type === 'application/*';
  });
}

function ok(doc: Built, cacheControl: string): OpenAPIResponse {
  return {
    status: 200,
    headers: { 'Content-Type': 'application/json', ETag: `"${doc.etag}"`, 'Cache-Control': cacheControl, Vary: 'Accept' },
    body: doc.body,
  };
}

function notAcceptable(accept: string): OpenAPIResponse {
  const what = accept.includes(PROTOBUF_V2) ? 'the protobuf encoding of the OpenAPI v2 document is not served; request application/json' : `only application/json is served`;
  return status(406, 'NotAcceptable', what);
}

function status(code: number, reason: string, message: string): OpenAPIResponse {
  const body = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  return { status: code, headers: { 'Content-Type': 'application/json' }, body: Buffer.from(JSON.stringify(body)) };
}

/** For tests: forget the cached documents (e.g. after the resource list changed). */
export function resetOpenAPICache(): void {
  docs = undefined;
}
