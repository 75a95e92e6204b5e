// Kubernetes protobuf (application/vnd.kubernetes.protobuf) bodies of the built-in kinds, to and from
// the JSON objects the API server stores and serves.
export { decodeK8sProtobuf, hasK8sProtobufMagic, K8S_PROTOBUF_MAGIC } from './decode.js';
export { encodeK8sProtobuf, encodeMessage } from './encode.js';
export { ProtobufError, type ProtobufErrorReason } from './wire.js';

/** The media type of Kubernetes protobuf bodies. */
export const K8S_PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
