// PodSpec defaulting and validation (upstream SetDefaults_PodSpec / ValidatePodSpec).
// Shared by pods and by every workload that embeds a pod template (apps, batch).
import type { FieldError } from '../types.js';
import {
  dns1123LabelErrors,
  dns1123SubdomainErrors,
  duplicate,
  forbidden,
  invalid,
  isQuantity,
  notFound,
  notSupported,
  parseQuantity,
  portNameErrors,
  portNumberErrors,
  QUANTITY_FORMAT_ERROR,
  qualifiedNameErrors,
  required,
  validateLabels,
} from '../validation.js';

const HTTP_SCHEMES = ['HTTP', 'HTTPS'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];
const DNS_POLICIES = ['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'];
const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'];
const TERMINATION_MESSAGE_POLICIES = ['File', 'FallbackToLogsOnError'];
const TAINT_EFFECTS = ['NoExecute', 'NoSchedule', 'PreferNoSchedule'];
const TOLERATION_OPERATORS = ['Equal', 'Exists'];
/** The volume source fields of core/v1 Volume; exactly one may be set. */
const VOLUME_SOURCES = [
  'hostPath', 'emptyDir', 'gcePersistentDisk', 'awsElasticBlockStore', 'gitRepo', 'secret', 'nfs', 'iscsi',
  'glusterfs', 'persistentVolumeClaim', 'rbd', 'flexVolume', 'cinder', 'cephfs', 'flocker', 'downwardAPI', 'fc',
  'azureFile', 'configMap', 'vsphereVolume', 'quobyte', 'azureDisk', 'photonPersistentDisk', 'projected',
  'portworxVolume', 'scaleIO', 'storageos', 'csi', 'ephemeral', 'image',
];

// ---------- defaults ----------

/** Upstream's image pull policy default: Always for ":latest" or untagged images, else IfNotPresent. */
export function defaultPullPolicy(image: string | undefined): string {
  if (!image) return 'IfNotPresent';
  if (image.includes('@')) return 'IfNotPresent';
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  const tag = colon >= 0 ? image.slice(colon + 1) : '';
  return tag === '' || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function defaultHandler(h: any): void {
  if (!h || typeof h !== 'object') return;
  if (h.httpGet) {
    h.httpGet.path ??= '/';
    h.httpGet.scheme ??= 'HTTP';
  }
}

function defaultProbe(p: any): void {
  if (!p || typeof p !== 'object') return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  defaultHandler(p);
}

function defaultFieldRef(ref: any): void {
  if (ref && typeof ref === 'object') ref.apiVersion ??= 'v1';
}

/** SetDefaults_Container and its nested types. */
export function defaultContainer(c: any): void {
  if (!c || typeof c !== 'object') return;
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.imagePullPolicy ??= defaultPullPolicy(c.image);
  c.resources ??= {};
  for (const p of c.ports ?? []) if (p && typeof p === 'object') p.protocol ??= 'TCP';
  for (const e of c.env ?? []) defaultFieldRef(e?.valueFrom?.fieldRef);
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  defaultHandler(c.lifecycle?.postStart);
  defaultHandler(c.lifecycle?.preStop);
}

/** Volume defaults: an empty source means emptyDir; file-projecting sources get mode 0644. */
export function defaultVolume(v: any): void {
  if (!v || typeof v !== 'object') return;
  if (!VOLUME_SOURCES.some((s) => v[s] != null)) v.emptyDir = {};
  for (const s of ['secret', 'configMap', 'downwardAPI', 'projected']) {
    if (v[s] && typeof v[s] === 'object') v[s].defaultMode ??= 420;
  }
  for (const item of v.downwardAPI?.items ?? []) defaultFieldRef(item?.fieldRef);
  for (const src of v.projected?.sources ?? []) {
    for (const item of src?.downwardAPI?.items ?? []) defaultFieldRef(item?.fieldRef);
    if (src?.serviceAccountToken) src.serviceAccountToken.expirationSeconds ??= 3600;
  }
  if (v.hostPath && typeof v.hostPath === 'object') v.hostPath.type ??= '';
  if (v.iscsi && typeof v.iscsi === 'object') v.iscsi.iscsiInterface ??= 'default';
  if (v.rbd && typeof v.rbd === 'object') {
    v.rbd.pool ??= 'rbd';
    v.rbd.user ??= 'admin';
    v.rbd.keyring ??= '/etc/ceph/keyring';
  }
  if (v.azureDisk && typeof v.azureDisk === 'object') {
    v.azureDisk.cachingMode ??= 'ReadWrite';
    v.azureDisk.fsType ??= 'ext4';
    v.azureDisk.readOnly ??= false;
    v.azureDisk.kind ??= 'Shared';
  }
}

/** SetDefaults_PodSpec (pods and pod templates alike). */
export function defaultPodSpec(spec: any): void {
  if (!spec || typeof spec !== 'object') return;
  spec.restartPolicy ??= 'Always';
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const c of spec.containers ?? []) defaultContainer(c);
  for (const c of spec.ephemeralContainers ?? []) defaultContainer(c);
  for (const v of spec.volumes ?? []) defaultVolume(v);
  if (spec.hostNetwork === true) {
    // Host networking: the host port is the container port.
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])])
      for (const p of c?.ports ?? []) if (p && p.hostPort == null) p.hostPort = p.containerPort;
  }
}

// ---------- validation ----------

function validateQuantities(map: any, field: string, out: FieldError[]): Map<string, number> {
  const values = new Map<string, number>();
  if (map == null) return values;
  if (typeof map !== 'object' || Array.isArray(map)) {
    out.push(invalid(field, map, 'must be a map of resource names to quantities'));
    return values;
  }
  for (const [name, q] of Object.entries(map)) {
    const f = `${field}[${name}]`;
    if (!name.includes('/') && !['cpu', 'memory', 'ephemeral-storage', 'storage'].includes(name) && !name.startsWith('hugepages-') && !name.startsWith('requests.') && !name.startsWith('limits.')) {
      for (const e of qualifiedNameErrors(name)) out.push(invalid(f, name, e));
    } else if (name.includes('/')) {
      for (const e of qualifiedNameErrors(name)) out.push(invalid(f, name, e));
    }
    const n = parseQuantity(q);
    if (Number.isNaN(n)) {
      out.push(invalid(f, q, QUANTITY_FORMAT_ERROR));
      continue;
    }
    if (n < 0) out.push(invalid(f, q, 'must be greater than or equal to 0'));
    values.set(name, n);
  }
  return values;
}

/** ResourceRequirements: valid quantities and requests <= limits. */
export function validateResources(res: any, field: string): FieldError[] {
  const out: FieldError[] = [];
  if (res == null) return out;
  const limits = validateQuantities(res.limits, `${field}.limits`, out);
  const requests = validateQuantities(res.requests, `${field}.requests`, out);
  for (const [name, req] of requests) {
    const lim = limits.get(name);
    if (lim !== undefined && req > lim) {
      out.push(
        invalid(`${field}.requests[${name}]`, String(res.requests[name]), `must be less than or equal to ${name} limit of ${res.limits[name]}`),
      );
    }
  }
  return out;
}

function validateHandler(h: any, field: string, out: FieldError[], what = 'handler'): void {
  const kinds = ['exec', 'httpGet', 'tcpSocket', 'grpc', 'sleep'].filter((k) => h[k] != null);
  if (kinds.length === 0) {
    out.push(required(field, `must specify a ${what} type`));
    return;
  }
  if (kinds.length > 1) out.push(forbidden(`${field}.${kinds[1]}`, `may not specify more than 1 ${what} type`));
  if (h.exec && !(h.exec.command?.length > 0)) out.push(required(`${field}.exec.command`));
  if (h.httpGet) {
    validatePortRef(h.httpGet.port, `${field}.httpGet.port`, out);
    if (h.httpGet.scheme && !HTTP_SCHEMES.includes(h.httpGet.scheme))
      out.push(notSupported(`${field}.httpGet.scheme`, h.httpGet.scheme, HTTP_SCHEMES));
  }
  if (h.tcpSocket) validatePortRef(h.tcpSocket.port, `${field}.tcpSocket.port`, out);
  if (h.grpc) for (const e of portNumberErrors(h.grpc.port)) out.push(invalid(`${field}.grpc.port`, h.grpc.port, e));
}

/** An IntOrString port: a number in range or an IANA service name. */
function validatePortRef(port: unknown, field: string, out: FieldError[]): void {
  if (typeof port === 'number') {
    for (const e of portNumberErrors(port)) out.push(invalid(field, port, e));
  } else if (typeof port === 'string' && port !== '') {
    for (const e of portNameErrors(port)) out.push(invalid(field, port, e));
  } else {
    out.push(required(field));
  }
}

function validateProbe(p: any, field: string, out: FieldError[], mustSucceedOnce: boolean): void {
  if (p == null) return;
  validateHandler(p, field, out);
  for (const k of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    if (p[k] != null && (!Number.isInteger(p[k]) || p[k] < 0))
      out.push(invalid(`${field}.${k}`, p[k], 'must be greater than or equal to 0'));
  }
  if (mustSucceedOnce && p.successThreshold != null && p.successThreshold !== 1)
    out.push(invalid(`${field}.successThreshold`, p.successThreshold, 'must be 1'));
}

function validateEnv(env: any[], field: string, out: FieldError[]): void {
  env.forEach((e: any, i: number) => {
    const f = `${field}[${i}]`;
    if (!e?.name) out.push(required(`${f}.name`));
    else if (!/^[\x20-\x7e]+$/.test(e.name) || e.name.includes('='))
      out.push(invalid(`${f}.name`, e.name, "a valid environment variable name must consist only of printable ASCII characters other than '='"));
    const vf = e?.valueFrom;
    if (vf != null) {
      const n = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'].filter((k) => vf[k] != null).length;
      if (n === 0) out.push(invalid(`${f}.valueFrom`, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
      else if (n > 1) out.push(invalid(`${f}.valueFrom`, '', 'may not have more than one field specified at a time'));
      if (e.value) out.push(invalid(`${f}.valueFrom`, '', 'may not be specified when `value` is not empty'));
      if (vf.configMapKeyRef && !vf.configMapKeyRef.key) out.push(required(`${f}.valueFrom.configMapKeyRef.key`));
      if (vf.secretKeyRef && !vf.secretKeyRef.key) out.push(required(`${f}.valueFrom.secretKeyRef.key`));
      if (vf.fieldRef && !vf.fieldRef.fieldPath) out.push(required(`${f}.valueFrom.fieldRef.fieldPath`));
    }
  });
}

interface ContainerContext {
  volumes: Set<string>;
  names: Set<string>;
  init: boolean;
}

function validateContainer(c: any, field: string, ctx: ContainerContext, out: FieldError[]): void {
  if (!c || typeof c !== 'object') {
    out.push(required(field));
    return;
  }
  if (!c.name) out.push(required(`${field}.name`));
  else {
    for (const e of dns1123LabelErrors(c.name)) out.push(invalid(`${field}.name`, c.name, e));
    if (ctx.names.has(c.name)) out.push(duplicate(`${field}.name`, c.name));
    ctx.names.add(c.name);
  }
  if (!c.image || (typeof c.image === 'string' && c.image.trim() === '')) out.push(required(`${field}.image`));
  if (c.imagePullPolicy && !PULL_POLICIES.includes(c.imagePullPolicy))
    out.push(notSupported(`${field}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES));
  if (c.terminationMessagePolicy && !TERMINATION_MESSAGE_POLICIES.includes(c.terminationMessagePolicy))
    out.push(notSupported(`${field}.terminationMessagePolicy`, c.terminationMessagePolicy, TERMINATION_MESSAGE_POLICIES));

  const restartable = ctx.init && c.restartPolicy === 'Always';
  if (c.restartPolicy != null) {
    if (!ctx.init) out.push(forbidden(`${field}.restartPolicy`, 'may not be set for non-init containers'));
    else if (c.restartPolicy !== 'Always') out.push(notSupported(`${field}.restartPolicy`, c.restartPolicy, ['Always']));
  }

  const portNames = new Set<string>();
  (c.ports ?? []).forEach((p: any, i: number) => {
    const f = `${field}.ports[${i}]`;
    if (p?.name) {
      for (const e of portNameErrors(p.name)) out.push(invalid(`${f}.name`, p.name, e));
      if (portNames.has(p.name)) out.push(duplicate(`${f}.name`, p.name));
      portNames.add(p.name);
    }
    if (p?.containerPort == null || p.containerPort === 0) out.push(required(`${f}.containerPort`));
    else for (const e of portNumberErrors(p.containerPort)) out.push(invalid(`${f}.containerPort`, p.containerPort, e));
    if (p?.hostPort != null && p.hostPort !== 0)
      for (const e of portNumberErrors(p.hostPort)) out.push(invalid(`${f}.hostPort`, p.hostPort, e));
    if (p?.protocol == null) out.push(required(`${f}.protocol`));
    else if (!PROTOCOLS.includes(p.protocol)) out.push(notSupported(`${f}.protocol`, p.protocol, PROTOCOLS));
  });

  validateEnv(c.env ?? [], `${field}.env`, out);
  (c.envFrom ?? []).forEach((e: any, i: number) => {
    const n = ['configMapRef', 'secretRef'].filter((k) => e?.[k] != null).length;
    if (n === 0) out.push(invalid(`${field}.envFrom[${i}]`, '', 'must specify one of: `configMapRef` or `secretRef`'));
    else if (n > 1) out.push(invalid(`${field}.envFrom[${i}]`, '', 'may not have more than one field specified at a time'));
  });

  const mountPaths = new Set<string>();
  (c.volumeMounts ?? []).forEach((m: any, i: number) => {
    const f = `${field}.volumeMounts[${i}]`;
    if (!m?.name) out.push(required(`${f}.name`));
    else if (!ctx.volumes.has(m.name)) out.push(notFound(`${f}.name`, m.name));
    if (!m?.mountPath) out.push(required(`${f}.mountPath`));
    else {
      if (mountPaths.has(m.mountPath)) out.push(invalid(`${f}.mountPath`, m.mountPath, 'must be unique'));
      mountPaths.add(m.mountPath);
    }
    if (m?.subPath) {
      if (m.subPath.startsWith('/')) out.push(invalid(`${f}.subPath`, m.subPath, 'must be a relative path'));
      if (m.subPath.split('/').includes('..')) out.push(invalid(`${f}.subPath`, m.subPath, "must not contain '..'"));
    }
  });

  out.push(...validateResources(c.resources, `${field}.resources`));

  if (ctx.init && !restartable) {
    for (const k of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe'])
      if (c[k] != null) out.push(forbidden(`${field}.${k}`, 'may not be set for init containers without restartPolicy=Always'));
  } else {
    validateProbe(c.livenessProbe, `${field}.livenessProbe`, out, true);
    validateProbe(c.readinessProbe, `${field}.readinessProbe`, out, false);
    validateProbe(c.startupProbe, `${field}.startupProbe`, out, true);
    if (c.lifecycle?.postStart) validateHandler(c.lifecycle.postStart, `${field}.lifecycle.postStart`, out);
    if (c.lifecycle?.preStop) validateHandler(c.lifecycle.preStop, `${field}.lifecycle.preStop`, out);
  }
}

/** Volumes: unique DNS-label names and exactly one source. Returns the names. */
function validateVolumes(volumes: any[], field: string, out: FieldError[]): Set<string> {
  const names = new Set<string>();
  volumes.forEach((v: any, i: number) => {
    const f = `${field}[${i}]`;
    if (!v?.name) out.push(required(`${f}.name`));
    else {
      for (const e of dns1123LabelErrors(v.name)) out.push(invalid(`${f}.name`, v.name, e));
      if (names.has(v.name)) out.push(duplicate(`${f}.name`, v.name));
      names.add(v.name);
    }
    const sources = VOLUME_SOURCES.filter((s) => v?.[s] != null);
    if (sources.length === 0) out.push(required(f, 'must specify a volume type'));
    else if (sources.length > 1) out.push(forbidden(`${f}.${sources[1]}`, 'may not specify more than 1 volume type'));
    if (v?.configMap && !v.configMap.name) out.push(required(`${f}.configMap.name`));
    if (v?.secret && !v.secret.secretName) out.push(required(`${f}.secret.secretName`));
    if (v?.persistentVolumeClaim && !v.persistentVolumeClaim.claimName)
      out.push(required(`${f}.persistentVolumeClaim.claimName`));
    if (v?.hostPath && !v.hostPath.path) out.push(required(`${f}.hostPath.path`));
    for (const s of ['secret', 'configMap', 'downwardAPI', 'projected']) {
      const mode = v?.[s]?.defaultMode;
      if (mode != null && (!Number.isInteger(mode) || mode < 0 || mode > 0o777))
        out.push(invalid(`${f}.${s}.defaultMode`, mode, 'must be a number between 0 and 0777 (octal), both inclusive'));
    }
    if (v?.emptyDir?.sizeLimit != null && !isQuantity(v.emptyDir.sizeLimit))
      out.push(invalid(`${f}.emptyDir.sizeLimit`, v.emptyDir.sizeLimit, QUANTITY_FORMAT_ERROR));
  });
  return names;
}

/** Tolerations (core/v1 Toleration). */
export function validateTolerations(tols: any[], field: string): FieldError[] {
  const out: FieldError[] = [];
  tols.forEach((t: any, i: number) => {
    const f = `${field}[${i}]`;
    if (t?.key) for (const e of qualifiedNameErrors(t.key)) out.push(invalid(`${f}.key`, t.key, e));
    const op = t?.operator;
    if (!t?.key && op !== 'Exists')
      out.push(invalid(`${f}.operator`, op ?? '', 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (op != null && op !== '' && !TOLERATION_OPERATORS.includes(op)) out.push(notSupported(`${f}.operator`, op, TOLERATION_OPERATORS));
    if (op === 'Exists' && t?.value) out.push(invalid(`${f}.operator`, t.value, "value must be empty when `operator` is 'Exists'"));
    if (t?.effect && !TAINT_EFFECTS.includes(t.effect)) out.push(notSupported(`${f}.effect`, t.effect, TAINT_EFFECTS));
    if (t?.tolerationSeconds != null && t.effect !== 'NoExecute')
      out.push(invalid(`${f}.effect`, t.effect ?? '', "effect must be 'NoExecute' when `tolerationSeconds` is set"));
  });
  return out;
}

/**
 * ValidatePodSpec: field is the path of the spec ("spec", "spec.template.spec").
 * restartPolicies narrows the allowed restartPolicy values (jobs: OnFailure/Never).
 */
export function validatePodSpec(spec: any, field: string, restartPolicies: string[] = RESTART_POLICIES): FieldError[] {
  const out: FieldError[] = [];
  if (!spec || typeof spec !== 'object') return [required(field)];
  const volumes = validateVolumes(spec.volumes ?? [], `${field}.volumes`, out);
  const names = new Set<string>();
  (spec.initContainers ?? []).forEach((c: any, i: number) =>
    validateContainer(c, `${field}.initContainers[${i}]`, { volumes, names, init: true }, out),
  );
  if (!Array.isArray(spec.containers) || spec.containers.length === 0) out.push(required(`${field}.containers`));
  else
    spec.containers.forEach((c: any, i: number) =>
      validateContainer(c, `${field}.containers[${i}]`, { volumes, names, init: false }, out),
    );

  if (!spec.restartPolicy) out.push(required(`${field}.restartPolicy`));
  else if (!restartPolicies.includes(spec.restartPolicy))
    out.push(notSupported(`${field}.restartPolicy`, spec.restartPolicy, restartPolicies));
  if (!spec.dnsPolicy) out.push(required(`${field}.dnsPolicy`));
  else if (!DNS_POLICIES.includes(spec.dnsPolicy)) out.push(notSupported(`${field}.dnsPolicy`, spec.dnsPolicy, DNS_POLICIES));
  else if (spec.dnsPolicy === 'None' && spec.dnsConfig == null)
    out.push(required(`${field}.dnsConfig`, 'must provide `dnsConfig` when `dnsPolicy` is None'));
  if (spec.activeDeadlineSeconds != null && (!Number.isInteger(spec.activeDeadlineSeconds) || spec.activeDeadlineSeconds < 1 || spec.activeDeadlineSeconds > 2147483647))
    out.push(invalid(`${field}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, 'must be between 1 and 2147483647, inclusive'));
  if (spec.terminationGracePeriodSeconds != null && !Number.isInteger(spec.terminationGracePeriodSeconds))
    out.push(invalid(`${field}.terminationGracePeriodSeconds`, spec.terminationGracePeriodSeconds, 'must be an integer'));
  out.push(...validateLabels(spec.nodeSelector, `${field}.nodeSelector`));
  for (const k of ['serviceAccountName', 'nodeName']) {
    if (spec[k]) for (const e of dns1123SubdomainErrors(spec[k])) out.push(invalid(`${field}.${k}`, spec[k], e));
  }
  for (const k of ['hostname', 'subdomain']) {
    if (spec[k]) for (const e of dns1123LabelErrors(spec[k])) out.push(invalid(`${field}.${k}`, spec[k], e));
  }
  out.push(...validateTolerations(spec.tolerations ?? [], `${field}.tolerations`));
  (spec.imagePullSecrets ?? []).forEach((s: any, i: number) => {
    if (!s?.name) out.push(required(`${field}.imagePullSecrets[${i}].name`));
  });
  (spec.readinessGates ?? []).forEach((g: any, i: number) => {
    for (const e of qualifiedNameErrors(String(g?.conditionType ?? '')))
      out.push(invalid(`${field}.readinessGates[${i}].conditionType`, g?.conditionType, e));
  });
  if (spec.priorityClassName)
    for (const e of dns1123SubdomainErrors(spec.priorityClassName))
      out.push(invalid(`${field}.priorityClassName`, spec.priorityClassName, e));
  return out;
}
