// OpenAPI definitions of metrics.k8s.io/v1beta1 (NodeMetrics, PodMetrics, their lists and
// ContainerMetrics) under the names metrics-server publishes (io.k8s.metrics.pkg.apis.metrics.
// v1beta1.*), so `kubectl explain nodemetrics` and `kubectl explain podmetrics.containers` work.
// The kinds are not in the built-in schema model (src/api/schema): they are written here, in
// the shape kube-openapi gives them, and refer to the shared apimachinery definitions.
import type { ExtraGroupVersion } from '../apiserver/openapi/documents.js';
import { METRICS_GROUP, METRICS_VERSION, metricsResourceDefs } from './api.js';

export const METRICS_OPENAPI_PREFIX = 'io.k8s.metrics.pkg.apis.metrics.v1beta1.';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const DURATION = META + 'Duration';

/**
 * Definitions the metrics schemas refer to that the document builds from the schema model: keys
 * of src/api/schema definitions, or names of its shared scalar definitions.
 */
export const METRICS_OPENAPI_DEPENDENCIES = ['meta.v1.ObjectMeta', 'meta.v1.ListMeta', META + 'Time', QUANTITY];

/** The definition name of a metrics.k8s.io kind ("PodMetrics", "PodMetricsList"), if it has one. */
export function metricsDefinitionName(kind: string): string | undefined {
  return ['NodeMetrics', 'NodeMetricsList', 'PodMetrics', 'PodMetricsList'].includes(kind) ? METRICS_OPENAPI_PREFIX + kind : undefined;
}

type Schema = Record<string, unknown>;

/**
 * The metrics definitions (plus meta/v1 Duration, which no built-in kind uses) by name, with refs
 * under refPrefix ("#/definitions/" for v2, "#/components/schemas/" for v3). In v3 a ref that
 * carries a description is wrapped in allOf, as kube-openapi does.
 */
export function metricsOpenAPIDefinitions(refPrefix: string): Record<string, Schema> {
  const v3 = refPrefix.startsWith('#/components/');
  const ref = (name: string, description?: string): Schema => {
    if (!description) return { $ref: refPrefix + name };
    return v3 ? { description, allOf: [{ $ref: refPrefix + name }] } : { description, $ref: refPrefix + name };
  };
  const str = (description: string): Schema => ({ description, type: 'string' });
  const typeMeta = {
    apiVersion: str('The versioned schema of this object: metrics.k8s.io/v1beta1.'),
    kind: str('The kind of this object.'),
  };
  const usage = (description: string): Schema => ({ description, type: 'object', additionalProperties: ref(QUANTITY) });
  const window = {
    timestamp: ref(META + 'Time', 'The end of the interval the usage was measured over: [timestamp-window, timestamp].'),
    window: ref(DURATION, 'The length of the interval the usage was measured over.'),
  };
  const gvk = (kind: string) => [{ group: METRICS_GROUP, version: METRICS_VERSION, kind }];
  const list = (kind: string, description: string): Schema => ({
    description,
    type: 'object',
    required: ['items'],
    properties: {
      ...typeMeta,
      items: { description: `The ${kind} items.`, type: 'array', items: ref(METRICS_OPENAPI_PREFIX + kind) },
      metadata: ref(META + 'ListMeta', 'Standard list metadata.'),
    },
    'x-kubernetes-group-version-kind': gvk(kind + 'List'),
  });
  const defs: Record<string, Schema> = {
    [METRICS_OPENAPI_PREFIX + 'ContainerMetrics']: {
      description: 'Resource usage of one container.',
      type: 'object',
      required: ['name', 'usage'],
      properties: {
        name: str('The container name, as in pod.spec.containers.'),
        usage: usage('Usage by resource name: cpu (cores), memory (working set bytes).'),
      },
    },
    [METRICS_OPENAPI_PREFIX + 'NodeMetrics']: {
      description: 'Resource usage of a node.',
      type: 'object',
      required: ['timestamp', 'window', 'usage'],
      properties: {
        ...typeMeta,
        metadata: ref(META + 'ObjectMeta', "The node's metadata (name and labels)."),
        ...window,
        usage: usage('Usage by resource name: cpu (cores), memory (working set bytes).'),
      },
      'x-kubernetes-group-version-kind': gvk('NodeMetrics'),
    },
    [METRICS_OPENAPI_PREFIX + 'NodeMetricsList']: list('NodeMetrics', 'A list of NodeMetrics.'),
    [METRICS_OPENAPI_PREFIX + 'PodMetrics']: {
      description: 'Resource usage of a pod, per container.',
      type: 'object',
      required: ['timestamp', 'window', 'containers'],
      properties: {
        ...typeMeta,
        metadata: ref(META + 'ObjectMeta', "The pod's metadata (name, namespace and labels)."),
        ...window,
        containers: {
          description: 'Usage of each container, all measured over the same interval.',
          type: 'array',
          items: ref(METRICS_OPENAPI_PREFIX + 'ContainerMetrics'),
          'x-kubernetes-list-type': 'atomic',
        },
      },
      'x-kubernetes-group-version-kind': gvk('PodMetrics'),
    },
    [METRICS_OPENAPI_PREFIX + 'PodMetricsList']: list('PodMetrics', 'A list of PodMetrics.'),
    [DURATION]: { description: 'A duration in Go syntax, such as "15s" or "1m30s".', type: 'string' },
  };
  return defs;
}

/** metrics.k8s.io/v1beta1 for the OpenAPI documents (/openapi/v2 and /openapi/v3/apis/metrics.k8s.io/v1beta1). */
export const metricsOpenAPI: ExtraGroupVersion = {
  resources: metricsResourceDefs,
  definitions: metricsOpenAPIDefinitions,
  dependencies: METRICS_OPENAPI_DEPENDENCIES,
  definitionName: metricsDefinitionName,
};
