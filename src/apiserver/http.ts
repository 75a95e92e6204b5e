// HTTP plumbing: bounded body reading, decoding JSON/YAML request bodies, writing responses.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import { ApiError, badRequest } from './errors.js';
import { decodeK8sProtobuf, K8S_PROTOBUF_MEDIA_TYPE, ProtobufError } from './protobuf/index.js';
import { dropUnsetZeros } from './protobuf/zero-values.js';

/** Upstream's request body limit (3 MiB). */
export const MAX_BODY_BYTES = 3 * 1024 * 1024;

export function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      req.resume();
      return reject(tooLarge(limit));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function tooLarge(limit: number): ApiError {
  return new ApiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${limit}`);
}

/** The media type without parameters, lower-cased ("application/json"). */
export function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0].trim().toLowerCase();
}

/** Decodes a JSON or YAML object body; anything else is a clear 400/415. */
export function decodeObject(body: Buffer, contentType: string | undefined): any {
  const type = mediaType(contentType);
  if (type === K8S_PROTOBUF_MEDIA_TYPE) return decodeProtobuf(body);
  const text = body.toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty; expected an object');
  let value: unknown;
  if (type === '' || type === 'application/json' || type === '*/*') {
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw badRequest(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml: ${(e as Error).message}`);
    }
  } else if (type === 'application/yaml' || type === 'application/apply-patch+yaml') {
    try {
      value = parseYaml(text);
    } catch (e) {
      throw badRequest(`error converting YAML to JSON: ${(e as Error).message}`);
    }
  } else if (type.includes('protobuf')) {
    throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unsupported format: ${type} (this server accepts application/json and application/yaml)`);
  } else {
    throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw badRequest(`Object 'Kind' is missing in '${text.length > 100 ? text.slice(0, 100) + '...' : text}'`);
  return value;
}

function decodeProtobuf(body: Buffer): any {
  try {
    const obj = decodeK8sProtobuf(body);
    dropUnsetZeros(obj);
    return obj;
  } catch (e) {
    if (e instanceof ProtobufError && e.reason === 'Unsupported') throw new ApiError(415, 'UnsupportedMediaType', e.message);
    throw badRequest(e instanceof Error ? e.message : String(e));
  }
}

export function sendJson(res: ServerResponse, code: number, body: unknown, headers?: Record<string, string>): void {
  sendRaw(res, code, typeof body === 'string' ? body : JSON.stringify(body), 'application/json', headers);
}

export function sendRaw(res: ServerResponse, code: number, body: string | Buffer, contentType: string, headers?: Record<string, string>): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': buf.length, ...headers });
  res.end(buf);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, err.code, err.toStatus());
}

/** A Success Status (e.g. for deletecollection of some kinds). */
export function successStatus(details?: Record<string, unknown>): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', ...(details ? { details } : {}) };
}
