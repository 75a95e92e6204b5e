// The API model: how a kind is described to the generic registry in src/apiserver.
// Each API group folder (src/api/<group>/) exports ResourceDef values; src/api/registry.ts lists them.

/** Any Kubernetes object as JSON. */
export type KObject = {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [key: string]: any;
};

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: any[];
  [key: string]: any;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** One validation failure; becomes a cause in an Invalid Status, as upstream's field.Error. */
export interface FieldError {
  type:
    | 'FieldValueRequired'
    | 'FieldValueInvalid'
    | 'FieldValueNotSupported'
    | 'FieldValueDuplicate'
    | 'FieldValueForbidden'
    | 'FieldValueTooLong'
    | 'FieldValueTooMany'
    | 'FieldValueTypeInvalid'
    | 'FieldValueNotFound';
  /** Dotted path, e.g. "spec.containers[0].image". */
  field: string;
  /** Upstream-style detail, e.g. 'Invalid value: "x": must be ...' is built from badValue + detail. */
  detail: string;
  badValue?: unknown;
}

/** A column of the Table that `kubectl get` prints (metav1.TableColumnDefinition). */
export interface TableColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  description: string;
  /** 0: always shown; 1: only with -o wide. */
  priority: number;
}

/** How the scale subresource (autoscaling/v1 Scale) maps onto the object. */
export interface ScaleSpec {
  specReplicasPath: string; // e.g. "spec.replicas"
  statusReplicasPath: string; // e.g. "status.replicas"
  /** Path of the label selector (a LabelSelector object), e.g. "spec.selector". */
  selectorPath?: string;
}

/** Which rule names of this kind must satisfy. */
export type NameRule = 'dns1123-subdomain' | 'dns1123-label' | 'path-segment';

export interface ResourceDef {
  group: string; // "" for core
  version: string;
  kind: string;
  listKind?: string; // default kind + "List"
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Default: create, delete, deletecollection, get, list, patch, update, watch. */
  verbs?: string[];
  nameRule?: NameRule; // default dns1123-subdomain
  subresources?: {
    status?: boolean;
    scale?: ScaleSpec;
    /** pods/binding: handled by the pod registry in src/apiserver. */
    binding?: boolean;
  };
  /**
   * Storage key segment; default: plural for core, "<group>/<plural>" otherwise.
   * Two defs with the same storage share objects (events and events.k8s.io events),
   * and the non-storage one supplies convert.
   */
  storage?: string;
  /** For a def that views another's storage: conversion between the stored and this version. */
  convert?: {
    toStorage(obj: KObject): KObject;
    fromStorage(obj: KObject): KObject;
  };

  /** Upstream defaulting (SetDefaults_*), mutating obj. Runs on create and update. */
  defaults?(obj: KObject): void;
  /** Kind-specific validation (metadata name/labels/annotations are validated generically). */
  validate?(obj: KObject, old?: KObject): FieldError[];
  /** Strategy hooks (upstream PrepareForCreate/PrepareForUpdate): e.g. clear status on create. */
  prepareForCreate?(obj: KObject): void;
  prepareForUpdate?(obj: KObject, old: KObject): void;

  /** Table columns after the NAME column (which is implicit, as upstream prints it first). */
  columns: TableColumn[];
  /** Cells for columns, in order (without the name). */
  row(obj: KObject): unknown[];
  /** The NAME cell when it is not just metadata.name (storage classes print "x (default)"). */
  nameCell?(obj: KObject): string;
  /** Print Name as the last, wide-only column instead of the first (events, as upstream). */
  nameColumnLast?: boolean;

  /**
   * Field selectors this kind supports besides metadata.name and metadata.namespace
   * (which are implicit): field label -> value getter.
   */
  fieldSelectors?: Record<string, (obj: KObject) => string | undefined>;
  /** Pods: deletion sets deletionTimestamp and waits for the kubelet (or grace 0). */
  gracefulDelete?: boolean;
}
