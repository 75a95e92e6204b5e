// Every controller the controller manager can run, by upstream name. Add yours here: one entry
// per controller, created fresh each time the manager (re)starts its controllers.
import type { Controller } from './types.js';
import { ReplicaSetController } from './replicaset/controller.js';
import { DeploymentController } from './deployment/controller.js';
import { NamespaceController } from './namespace/controller.js';
import { GarbageCollector } from './garbage-collector/controller.js';
import { PodGCController } from './podgc/controller.js';
import { JobController } from './job/controller.js';
import { CronJobController } from './cronjob/controller.js';
import { TTLAfterFinishedController } from './ttl-after-finished/controller.js';
import { StatefulSetController } from './statefulset/controller.js';
import { ResourceQuotaController } from './resourcequota/controller.js';
import { newReplicationControllerController } from './replicationcontroller/controller.js';
import { EndpointsController } from './endpoints/controller.js';
import { EndpointSliceController } from './endpointslice/controller.js';
import { ServiceAccountsController } from './serviceaccount/controller.js';
import { NodeIpamController } from './nodeipam/controller.js';
import { DisruptionController } from './disruption/controller.js';
import { DaemonSetController } from './daemonset/controller.js';
import { NodeLifecycleController } from './nodelifecycle/controller.js';
import { TaintEvictionController } from './nodelifecycle/taint-eviction.js';
import { HorizontalPodAutoscalerController } from './podautoscaler/controller.js';
import { PersistentVolumeController } from './persistentvolume/controller.js';

export interface ControllerRegistration {
  /** Upstream name as accepted by --controllers (the "-controller" suffixed form is accepted too). */
  name: string;
  create(): Controller;
  /** Enabled by "*" (upstream keeps a few, like bootstrapsigner, off by default). */
  enabledByDefault: boolean;
}

export const CONTROLLER_REGISTRY: ControllerRegistration[] = [
  { name: 'replicaset', create: () => new ReplicaSetController(), enabledByDefault: true },
  { name: 'deployment', create: () => new DeploymentController(), enabledByDefault: true },
  { name: 'namespace', create: () => new NamespaceController(), enabledByDefault: true },
  { name: 'garbage-collector', create: () => new GarbageCollector(), enabledByDefault: true },
  { name: 'pod-garbage-collector', create: () => new PodGCController(), enabledByDefault: true },
  { name: 'job', create: () => new JobController(), enabledByDefault: true },
  { name: 'cronjob', create: () => new CronJobController(), enabledByDefault: true },
  { name: 'ttl-after-finished', create: () => new TTLAfterFinishedController(), enabledByDefault: true },
  { name: 'statefulset', create: () => new StatefulSetController(), enabledByDefault: true },
  { name: 'resourcequota', create: () => new ResourceQuotaController(), enabledByDefault: true },
  { name: 'replicationcontroller', create: () => newReplicationControllerController(), enabledByDefault: true },
  { name: 'endpoints', create: () => new EndpointsController(), enabledByDefault: true },
  { name: 'endpointslice', create: () => new EndpointSliceController(), enabledByDefault: true },
  { name: 'serviceaccount', create: () => new ServiceAccountsController(), enabledByDefault: true },
  { name: 'node-ipam', create: () => new NodeIpamController(), enabledByDefault: true },
  { name: 'disruption', create: () => new DisruptionController(), enabledByDefault: true },
  { name: 'daemonset', create: () => new DaemonSetController(), enabledByDefault: true },
  { name: 'node-lifecycle', create: () => new NodeLifecycleController(), enabledByDefault: true },
  { name: 'taint-eviction', create: () => new TaintEvictionController(), enabledByDefault: true },
  { name: 'horizontalpodautoscaling', create: () => new HorizontalPodAutoscalerController(), enabledByDefault: true },
  { name: 'persistentvolume-binder', create: () => new PersistentVolumeController(), enabledByDefault: true },
];
