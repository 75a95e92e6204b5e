// skiff's client library: what every component uses to talk to the API server.
export * from './errors.js';
export * from './transport.js';
export { RestClient, CLIENT_VERSION, encodeQuery } from './rest.js';
export type { RestClientOptions, RequestOptions, QueryParams, QueryValue, WatchEventType, WatchHandle } from './rest.js';
export { LineDecoder } from './watch-decoder.js';
export { TokenBucket } from './token-bucket.js';
export * from './time.js';
export * from './gvr.js';
export * from './resources.js';
export * from './client.js';
export * from './log.js';
export * from './indexer.js';
export * from './reflector.js';
export * from './informer.js';
export type { KObject, ObjectMeta } from '../api/types.js';
export * from './rate-limiters.js';
export * from './workqueue.js';
