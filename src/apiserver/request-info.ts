// Parses a resource URL into what it addresses (upstream: apiserver/pkg/endpoints/request.RequestInfo).
//   /api/v1/namespaces/{ns}/{resource}/{name}/{subresource}
//   /apis/{group}/{version}/{resource}/{name}/{subresource}
//   /api/v1/watch/... (legacy watch prefix)

export interface ResourceRequest {
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
  /** The legacy /watch/ path prefix was used. */
  legacyWatch: boolean;
}

/** undefined when path is not a resource path. */
export function parseResourcePath(path: string): ResourceRequest | undefined {
  const parts = path.split('/').filter((p) => p !== '');
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else return undefined;
  let legacyWatch = false;
  if (rest[0] === 'watch') {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  rest = rest.map(decodeURIComponent);
  if (rest.length === 0) return undefined;
  if (rest[0] === 'namespaces') {
    if (rest.length <= 2 || (rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))) {
      // The namespace object itself.
      return { group, version, resource: 'namespaces', name: rest[1], subresource: rest[2], legacyWatch };
    }
    // pods/<name>/proxy/<path...>: the rest of the path belongs to the proxied request.
    if (rest.length > 5 && rest[4] !== 'proxy') return undefined;
    return { group, version, namespace: rest[1], resource: rest[2], name: rest[3], subresource: rest[4], legacyWatch };
  }
  if (rest.length > 3 && rest[2] !== 'proxy') return undefined;
  return { group, version, resource: rest[0], name: rest[1], subresource: rest[2], legacyWatch };
}
