// Syncing one pod against the runtime (upstream's kuberuntime_manager SyncPod/KillPod and
// kuberuntime_container.go): ensure the sandbox, run init containers in order (sidecars kept
// running), start or restart regular containers per restartPolicy with CrashLoopBackOff,
// restart containers whose liveness/startup probe failed, and tear everything down on
// termination. What the runtime then reports is turned into a status by pod-status.ts.
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { EventRecorder, KObject } from '../../client/index.js';
import type { KubeletLog } from '../log.js';
import { cleanupMasqRules } from '../network/masq-cleanup.js';
import { runAction } from '../prober/actions.js';
import { objectRef, type ProbeManager, type RunningContainer } from '../prober/manager.js';
import type { ContainerStatus, KubeletRuntime, Mount, PodSandboxConfig, PodSandboxStatus } from '../runtime/types.js';
import type { MountedVolume } from '../volumes/volume-manager.js';
import { Backoff, goDuration } from './backoff.js';
import { ContainerConfigError, expandCommand, resolveEnv, type EnvSources } from './env.js';
import { CONTAINER_HASH_ANNOTATION, CONTAINER_KIND_LABEL, CONTAINER_NAME_LABEL, containerHash, POD_UID_LABEL, podFullName, RESTART_COUNT_ANNOTATION, TERMINATION_MESSAGE_HOST_ANNOTATION } from './labels.js';
import type { WaitingReason } from './pod-status.js';
import { cgroupParent, containerConfig, podLogDirectory, qosClass, sandboxConfig, type DnsOptions } from './runtime-config.js';

/** A container that cannot start yet; the reason shows as its waiting state. */
export class WaitingError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** A pod's containers as the runtime reports them (with their sandbox), newest first. */
export type PodContainer = ContainerStatus & { podSandboxId: string };

export interface RuntimePodState {
  sandboxes: PodSandboxStatus[];
  containers: PodContainer[];
}

export interface SyncOutcome {
  waiting: Map<string, WaitingReason>;
  /** Sync again after this long (a backoff expiring, a mount to retry). */
  requeueMs?: number;
  state: RuntimePodState;
  /** Set when the pod can never run again (restartPolicy Never and its sandbox died or an init container failed). */
  terminal?: boolean;
}

export interface PodSyncOptions {
  runtime: KubeletRuntime;
  recorder: EventRecorder;
  log: KubeletLog;
  probes: ProbeManager;
  crashBackoff: Backoff;
  pullBackoff: Backoff;
  /** <dataDir>/agent/pods */
  podsDir: string;
  /** <dataDir>/agent/logs/pods */
  logRoot: string;
  dns: () => DnsOptions;
  memoryCapacity: number;
  /** Sets up the pod's volumes (throws VolumeError). */
  volumes(pod: KObject, podIP: string | undefined): Promise<Map<string, MountedVolume>>;
  envSources(pod: KObject, podIP: string | undefined): EnvSources;
}

const isInitContainer = (c: PodContainer) => c.labels?.[CONTAINER_KIND_LABEL] === 'init';
const nameOf = (c: ContainerStatus) => c.labels?.[CONTAINER_NAME_LABEL] ?? c.metadata?.name;
const restartCountOf = (c: ContainerStatus) => Number(c.annotations?.[RESTART_COUNT_ANNOTATION] ?? c.metadata?.attempt ?? 0) || 0;
const MIN_GRACE_SECONDS = 2;

function fieldPath(pod: KObject, name: string): string {
  const idx = (pod.spec?.initContainers ?? []).findIndex((c: KObject) => c.name === name);
  return idx >= 0 ? `spec.initContainers{${name}}` : `spec.containers{${name}}`;
}

/** Upstream's default pull policy: Always for :latest or untagged images, else IfNotPresent. */
export function pullPolicy(c: KObject): string {
  if (c.imagePullPolicy) return c.imagePullPolicy;
  const image: string = c.image ?? '';
  if (image.includes('@')) return 'IfNotPresent';
  const last = image.split('/').pop() ?? '';
  const tag = last.includes(':') ? last.split(':').pop() : '';
  return !tag || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

export class PodSync {
  constructor(private readonly o: PodSyncOptions) {}

  private event(pod: KObject, container: string | undefined, type: 'Normal' | 'Warning', reason: string, note: string): void {
    const ref = container ? { ...objectRef(pod), fieldPath: fieldPath(pod, container) } : objectRef(pod);
    this.o.recorder.event(ref, type, reason, reason, note);
  }

  /** The pod's sandboxes and containers, newest first. */
  async state(uid: string): Promise<RuntimePodState> {
    const rt = this.o.runtime;
    const [sbs, cs] = await Promise.all([rt.listPodSandboxes({ labelSelector: { [POD_UID_LABEL]: uid } }), rt.listContainers({ labelSelector: { [POD_UID_LABEL]: uid } })]);
    const sandboxes = (await Promise.all(sbs.map((s) => rt.podSandboxStatus(s.id)))).filter((s): s is PodSandboxStatus => !!s);
    sandboxes.sort((a, b) => b.createdAt - a.createdAt);
    const statuses = await Promise.all(
      cs.map(async (c) => {
        const st = await rt.containerStatus(c.id);
        return st ? ({ ...st, podSandboxId: c.podSandboxId } as PodContainer) : undefined;
      }),
    );
    const containers = statuses.filter((c): c is PodContainer => !!c).sort((a, b) => b.createdAt - a.createdAt);
    return { sandboxes, containers };
  }

  /** Brings the pod's runtime state in line with its spec. */
  async sync(pod: KObject): Promise<SyncOutcome> {
    const uid: string = pod.metadata?.uid ?? '';
    const policy: string = pod.spec?.restartPolicy ?? 'Always';
    const waiting = new Map<string, WaitingReason>();
    let requeueMs: number | undefined;
    const requeue = (ms: number) => (requeueMs = requeueMs === undefined ? ms : Math.min(requeueMs, ms));
    let st = await this.state(uid);

    // 1. The sandbox.
    let sandbox = st.sandboxes[0];
    const hostNet = !!pod.spec?.hostNetwork;
    const sandboxOk = sandbox?.state === 'SANDBOX_READY' && (hostNet || !!sandbox.network?.ip);
    if (!sandboxOk) {
      const ranBefore = st.containers.some((c) => !isInitContainer(c));
      if (sandbox && policy === 'Never' && ranBefore) {
        // Upstream does not restart a Never pod whose sandbox died after its containers ran.
        return { waiting, state: st, terminal: true };
      }
      await this.killContainers(pod, st.containers, 2);
      for (const s of st.sandboxes) if (s.state === 'SANDBOX_READY') await this.o.runtime.stopPodSandbox(s.id);
      // Sandboxes that hold no containers are of no use to the status: remove them, so a
      // failed or half-created one does not linger (upstream removes a failed sandbox too).
      const holding = new Set(st.containers.map((c) => c.podSandboxId));
      for (const s of st.sandboxes) if (!holding.has(s.id)) await this.removeSandbox(pod, s.id);
      // Each new sandbox of the pod gets the next attempt number, even when the previous try
      // left nothing listed: containerd may still hold the name a failed call reserved.
      const attempt = Math.max(sandbox ? sandbox.metadata.attempt + 1 : 0, this.nextSandboxAttempt.get(uid) ?? 0);
      this.nextSandboxAttempt.set(uid, attempt + 1);
      if (sandbox) this.event(pod, undefined, 'Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
      const cfg = this.sandboxConfig(pod, attempt);
      mkdirSync(cfg.logDirectory!, { recursive: true });
      let id: string;
      try {
        id = await this.o.runtime.runPodSandbox(cfg);
        this.o.log('debug', `created sandbox ${id.slice(0, 12)} for ${podFullName(pod)} attempt ${attempt}`);
      } catch (e) {
        this.event(pod, undefined, 'Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(e as Error).message}`);
        // Whatever the failed call left behind (a sandbox that never became ready) goes now.
        const known = new Set(st.sandboxes.map((s) => s.id));
        const after = await this.o.runtime.listPodSandboxes({ labelSelector: { [POD_UID_LABEL]: uid } }).catch(() => []);
        for (const s of after) if (!known.has(s.id) && s.state !== 'SANDBOX_READY') await this.removeSandbox(pod, s.id);
        throw e;
      }
      st = await this.state(uid);
      sandbox = st.sandboxes.find((s) => s.id === id) ?? st.sandboxes[0];
      if (!sandbox) throw new Error(`sandbox ${id} vanished after creation`);
    }
    const sbCfg = this.sandboxConfig(pod, sandbox.metadata.attempt);
    const podIP = hostNet ? undefined : sandbox.network?.ip;
    this.writeHostsFile(pod, podIP);

    // 2. Volumes (refreshed on every sync, so ConfigMap/Secret updates reach the files).
    let volumes: Map<string, MountedVolume>;
    try {
      volumes = await this.o.volumes(pod, podIP);
    } catch (e) {
      this.event(pod, undefined, 'Warning', 'FailedMount', (e as Error).message);
      requeue(2000);
      return { waiting, requeueMs, state: st };
    }

    const current = st.containers.filter((c) => c.podSandboxId === sandbox.id);
    const latest = (name: string) => current.find((c) => nameOf(c) === name);
    const latestAny = (name: string) => st.containers.find((c) => nameOf(c) === name);
    const nextRestartCount = (name: string) => {
      const prev = latestAny(name);
      return prev ? restartCountOf(prev) + 1 : 0;
    };
    const start = async (spec: KObject, init: boolean) => {
      try {
        await this.startContainer(pod, spec, sandbox.id, sbCfg, podIP, nextRestartCount(spec.name), init, volumes);
      } catch (e) {
        if (e instanceof WaitingError) {
          waiting.set(spec.name, { reason: e.reason, message: e.message });
          requeue(e.reason === 'ErrImagePull' || e.reason === 'ImagePullBackOff' ? Math.max(1000, this.o.pullBackoff.get(spec.image)) : 5000);
          return false;
        }
        throw e;
      }
      return true;
    };
    /** Restart gate for an exited container: false (and a CrashLoopBackOff reason) while backing off. */
    const mayRestart = (spec: KObject, c: PodContainer): boolean => {
      const key = `${uid}/${spec.name}`;
      const finished = c.finishedAt ? Math.floor(c.finishedAt / 1e6) : Date.now();
      if (this.o.crashBackoff.isInBackOffSince(key, finished)) {
        const wait = this.o.crashBackoff.get(key);
        waiting.set(spec.name, {
          reason: 'CrashLoopBackOff',
          message: `back-off ${goDuration(wait)} restarting failed container=${spec.name} pod=${podFullName(pod)}`,
        });
        this.event(pod, spec.name, 'Warning', 'BackOff', `Back-off restarting failed container ${spec.name} in pod ${podFullName(pod)}`);
        requeue(this.o.crashBackoff.remaining(key, finished) + 50);
        return false;
      }
      this.o.crashBackoff.next(key, finished);
      return true;
    };
    /** A running container whose probe says it must go (or whose spec changed) is stopped; true when it was. */
    const killIfUnhealthy = async (spec: KObject, c: PodContainer): Promise<boolean> => {
      const failed = this.o.probes.failedToLive(c.id);
      const changed = c.annotations?.[CONTAINER_HASH_ANNOTATION] && c.annotations[CONTAINER_HASH_ANNOTATION] !== containerHash(spec);
      if (!failed && !changed) return false;
      const msg = failed ? `Container ${spec.name} failed ${failed} probe, will be restarted` : `Container ${spec.name} definition changed, will be restarted`;
      const probe = failed === 'startup' ? spec.startupProbe : spec.livenessProbe;
      const grace = probe?.terminationGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
      await this.killContainer(pod, c, grace, msg);
      return true;
    };

    // 3. Init containers, in order; sidecars (restartPolicy Always) stay running.
    let initBlocked = false;
    let initFailed = false;
    for (const ic of pod.spec?.initContainers ?? []) {
      let c = latest(ic.name);
      if (ic.restartPolicy === 'Always') {
        if (c?.state === 'CONTAINER_RUNNING') {
          if (!(await killIfUnhealthy(ic, c))) {
            if (ic.startupProbe && this.o.probes.startup(c.id) !== true) {
              initBlocked = true;
              break;
            }
            continue;
          }
          c = (await this.refresh(c)) ?? c;
        }
        if (c && c.state === 'CONTAINER_EXITED' && !mayRestart(ic, c)) {
          initBlocked = true;
          break;
        }
        await start(ic, true);
        initBlocked = true;
        break;
      }
      if (c?.state === 'CONTAINER_EXITED' && c.exitCode === 0) continue;
      if (c?.state === 'CONTAINER_RUNNING' || c?.state === 'CONTAINER_CREATED') {
        initBlocked = true;
        break;
      }
      if (c?.state === 'CONTAINER_EXITED') {
        if (policy === 'Never') {
          initFailed = true;
          break;
        }
        if (!mayRestart(ic, c)) {
          initBlocked = true;
          break;
        }
      }
      await start(ic, true);
      initBlocked = true;
      break;
    }
    if (initFailed) {
      st = await this.state(uid);
      return { waiting, requeueMs, state: st, terminal: true };
    }

    // 4. Regular containers.
    if (!initBlocked) {
      for (const spec of pod.spec?.containers ?? []) {
        let c = latest(spec.name);
        if (c?.state === 'CONTAINER_RUNNING') {
          if (!(await killIfUnhealthy(spec, c))) continue;
          c = (await this.refresh(c)) ?? c;
          if (policy === 'Never') continue;
        }
        if (c?.state === 'CONTAINER_CREATED') {
          // Created but never started (a crash between the calls): replace it.
          await this.o.runtime.removeContainer(c.id);
          c = undefined;
        }
        if (c && c.state !== 'CONTAINER_RUNNING') {
          const restart = policy === 'Always' || (policy === 'OnFailure' && c.exitCode !== 0);
          if (!restart) continue;
          if (!mayRestart(spec, c)) continue;
        }
        await start(spec, false);
      }
    }

    st = await this.state(uid);
    const running: RunningContainer[] = [];
    const specs = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
    for (const c of st.containers) {
      if (c.state !== 'CONTAINER_RUNNING' || c.podSandboxId !== sandbox.id) continue;
      const spec = specs.find((s: KObject) => s.name === nameOf(c));
      if (spec) running.push({ id: c.id, spec, startedAtMs: Math.floor((c.startedAt || c.createdAt) / 1e6) });
    }
    this.o.probes.update(pod, podIP, running);
    return { waiting, requeueMs, state: st };
  }

  /** The attempt number the pod's next sandbox gets (upstream: one more on every new sandbox). */
  private readonly nextSandboxAttempt = new Map<string, number>();

  /** Stops and removes a sandbox the pod no longer needs; failures are logged, not thrown. */
  private async removeSandbox(pod: KObject, id: string): Promise<void> {
    try {
      await this.o.runtime.stopPodSandbox(id);
      await this.o.runtime.removePodSandbox(id);
      await cleanupMasqRules([id]);
      this.o.log('debug', `removed sandbox ${id.slice(0, 12)} of ${podFullName(pod)}`);
    } catch (e) {
      this.o.log('warning', `removing sandbox ${id.slice(0, 12)} of ${podFullName(pod)}: ${(e as Error).message}`);
    }
  }

  private async refresh(c: PodContainer): Promise<PodContainer | undefined> {
    const s = await this.o.runtime.containerStatus(c.id);
    return s ? { ...s, podSandboxId: c.podSandboxId } : undefined;
  }

  sandboxConfig(pod: KObject, attempt: number): PodSandboxConfig {
    return sandboxConfig(pod, attempt, { logRoot: this.o.logRoot, dns: this.o.dns() });
  }

  /** /etc/hosts for the pod's containers (localhost plus the pod's own name and IP). */
  private writeHostsFile(pod: KObject, podIP: string | undefined): string {
    const dir = join(this.o.podsDir, pod.metadata?.uid ?? '');
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'etc-hosts');
    let text = '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n';
    if (podIP) {
      const host = pod.spec?.hostname || pod.metadata?.name;
      const fqdn = pod.spec?.subdomain ? `${host}.${pod.spec.subdomain}.${pod.metadata?.namespace}.svc.cluster.local\t${host}` : host;
      text += `${podIP}\t${fqdn}\n`;
    }
    for (const ha of pod.spec?.hostAliases ?? []) text += `\n# Entries added by HostAliases.\n${ha.ip}\t${(ha.hostnames ?? []).join('\t')}\n`;
    let cur = '';
    try {
      cur = readFileSync(path, 'utf8');
    } catch {
      cur = '';
    }
    if (cur !== text) writeFileSync(path, text, { mode: 0o644 });
    return path;
  }

  private async ensureImage(pod: KObject, spec: KObject, sbCfg: PodSandboxConfig): Promise<void> {
    const image: string = spec.image;
    const policy = pullPolicy(spec);
    const rt = this.o.runtime;
    if (policy !== 'Always') {
      const present = await rt.imageStatus(image);
      if (present) {
        this.event(pod, spec.name, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
        return;
      }
      if (policy === 'Never') {
        const msg = `Container image "${image}" is not present with pull policy of Never`;
        this.event(pod, spec.name, 'Warning', 'ErrImageNeverPull', msg);
        throw new WaitingError('ErrImageNeverPull', msg);
      }
    }
    const key = image;
    const failedAt = this.pullFailures.get(key);
    if (failedAt !== undefined && this.o.pullBackoff.isInBackOffSince(key, failedAt)) {
      const msg = `Back-off pulling image "${image}"`;
      this.event(pod, spec.name, 'Normal', 'BackOff', msg);
      throw new WaitingError('ImagePullBackOff', msg);
    }
    this.event(pod, spec.name, 'Normal', 'Pulling', `Pulling image "${image}"`);
    const t0 = Date.now();
    try {
      await rt.pullImage(image, sbCfg);
    } catch (e) {
      const now = Date.now();
      this.pullFailures.set(key, now);
      this.o.pullBackoff.next(key, now);
      const msg = `Failed to pull image "${image}": ${(e as Error).message}`;
      this.event(pod, spec.name, 'Warning', 'Failed', msg);
      this.event(pod, spec.name, 'Warning', 'Failed', 'Error: ErrImagePull');
      throw new WaitingError('ErrImagePull', msg);
    }
    this.pullFailures.delete(key);
    this.o.pullBackoff.reset(key);
    this.event(pod, spec.name, 'Normal', 'Pulled', `Successfully pulled image "${image}" in ${((Date.now() - t0) / 1000).toFixed(3)}s`);
  }

  private readonly pullFailures = new Map<string, number>();

  private mounts(pod: KObject, spec: KObject, volumes: Map<string, MountedVolume>, restartCount: number, env: { key: string; value: string }[]): { mounts: Mount[]; termHost?: string } {
    const out: Mount[] = [];
    const envMap = new Map(env.map((e) => [e.key, e.value]));
    for (const vm of spec.volumeMounts ?? []) {
      const v = volumes.get(vm.name);
      if (!v) throw new WaitingError('CreateContainerConfigError', `cannot find volume "${vm.name}" to mount into container "${spec.name}"`);
      let host = v.hostPath;
      const sub: string | undefined = vm.subPath || (vm.subPathExpr ? vm.subPathExpr.replace(/\$\(([^)]+)\)/g, (_: string, n: string) => envMap.get(n) ?? '') : undefined);
      if (sub) {
        if (sub.split('/').includes('..') || sub.startsWith('/')) throw new WaitingError('CreateContainerConfigError', `invalid subpath "${sub}"`);
        host = join(host, sub);
        if (!existsSync(host)) mkdirSync(host, { recursive: true });
      }
      const m: Mount = { containerPath: vm.mountPath, hostPath: host, readonly: !!vm.readOnly || (v.readOnly && !sub) };
      if (vm.mountPropagation === 'HostToContainer') m.propagation = 'PROPAGATION_HOST_TO_CONTAINER';
      else if (vm.mountPropagation === 'Bidirectional') m.propagation = 'PROPAGATION_BIDIRECTIONAL';
      out.push(m);
    }
    const uid = pod.metadata?.uid ?? '';
    const hostNet = !!pod.spec?.hostNetwork;
    if (!hostNet && !out.some((m) => m.containerPath === '/etc/hosts')) out.push({ containerPath: '/etc/hosts', hostPath: join(this.o.podsDir, uid, 'etc-hosts') });
    let termHost: string | undefined;
    const termPath: string = spec.terminationMessagePath ?? '/dev/termination-log';
    if (termPath) {
      const dir = join(this.o.podsDir, uid, 'containers', spec.name);
      mkdirSync(dir, { recursive: true });
      termHost = join(dir, `${restartCount}-${randomBytes(4).toString('hex')}`);
      writeFileSync(termHost, '', { mode: 0o666 });
      out.push({ containerPath: termPath, hostPath: termHost });
    }
    return { mounts: out, termHost };
  }

  private async startContainer(pod: KObject, spec: KObject, sandboxId: string, sbCfg: PodSandboxConfig, podIP: string | undefined, restartCount: number, init: boolean, volumes: Map<string, MountedVolume>): Promise<void> {
    await this.ensureImage(pod, spec, sbCfg);
    let env;
    try {
      env = await resolveEnv(pod, spec, this.o.envSources(pod, podIP));
    } catch (e) {
      if (!(e instanceof ContainerConfigError)) throw e;
      this.event(pod, spec.name, 'Warning', 'Failed', `Error: ${e.message}`);
      throw new WaitingError('CreateContainerConfigError', e.message);
    }
    const { mounts, termHost } = this.mounts(pod, spec, volumes, restartCount, env);
    const cfg = containerConfig(pod, spec, {
      restartCount,
      env,
      command: expandCommand(spec.command, env),
      args: expandCommand(spec.args, env),
      mounts,
      init,
      qos: pod.status?.qosClass ?? qosClass(pod),
      memoryCapacity: this.o.memoryCapacity,
      terminationMessageHostPath: termHost,
    });
    let id: string;
    try {
      id = await this.o.runtime.createContainer(sandboxId, cfg, sbCfg);
    } catch (e) {
      this.event(pod, spec.name, 'Warning', 'Failed', `Error: ${(e as Error).message}`);
      throw new WaitingError('CreateContainerError', (e as Error).message);
    }
    this.event(pod, spec.name, 'Normal', 'Created', `Created container: ${spec.name}`);
    try {
      await this.o.runtime.startContainer(id);
    } catch (e) {
      this.event(pod, spec.name, 'Warning', 'Failed', `Error: failed to start container "${spec.name}": ${(e as Error).message}`);
      // The container exists and exited (StartError); the status shows it, the backoff applies.
      this.o.crashBackoff.next(`${pod.metadata?.uid}/${spec.name}`, Date.now());
      return;
    }
    this.event(pod, spec.name, 'Normal', 'Started', `Started container ${spec.name}`);
    const post = spec.lifecycle?.postStart;
    if (post) {
      const res = await runAction({ runtime: this.o.runtime, containerId: id, container: spec, podIP }, post, pod.spec?.terminationGracePeriodSeconds ?? 30);
      if (!res.ok) {
        const msg = `PostStartHook failed: ${res.output}`;
        this.event(pod, spec.name, 'Warning', 'FailedPostStartHook', msg);
        await this.o.runtime.stopContainer(id, MIN_GRACE_SECONDS);
        throw new WaitingError('PostStartHookError', msg);
      }
    }
  }

  /** Runs preStop (within the grace period), then stops the container with what is left of it. */
  async killContainer(pod: KObject, c: PodContainer, graceSeconds: number, message?: string): Promise<void> {
    const name = nameOf(c);
    const spec = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].find((s: KObject) => s.name === name);
    this.event(pod, name, 'Normal', 'Killing', message ?? `Stopping container ${name}`);
    const t0 = Date.now();
    const pre = spec?.lifecycle?.preStop;
    if (pre && c.state === 'CONTAINER_RUNNING' && graceSeconds > 0) {
      const podIP = (await this.o.runtime.podSandboxStatus(c.podSandboxId))?.network?.ip;
      const res = await Promise.race([
        runAction({ runtime: this.o.runtime, containerId: c.id, container: spec, podIP }, pre, graceSeconds),
        new Promise<{ ok: boolean; output: string }>((r) => setTimeout(() => r({ ok: false, output: 'timed out' }), graceSeconds * 1000).unref()),
      ]);
      if (!res.ok) this.event(pod, name, 'Warning', 'FailedPreStopHook', `PreStopHook failed: ${res.output}`);
    }
    const left = Math.max(MIN_GRACE_SECONDS, Math.ceil(graceSeconds - (Date.now() - t0) / 1000));
    await this.o.runtime.stopContainer(c.id, graceSeconds === 0 ? 0 : left);
  }

  /** Stops containers: regular ones first, then sidecars and init containers. */
  private async killContainers(pod: KObject, containers: PodContainer[], graceSeconds: number): Promise<void> {
    const live = containers.filter((c) => c.state === 'CONTAINER_RUNNING' || c.state === 'CONTAINER_CREATED');
    const ok = (p: Promise<void>) => p.catch((e) => this.o.log('warning', `killing container of ${podFullName(pod)}: ${(e as Error).message}`));
    await Promise.all(live.filter((c) => !isInitContainer(c)).map((c) => ok(this.killContainer(pod, c, graceSeconds))));
    await Promise.all(live.filter((c) => isInitContainer(c)).map((c) => ok(this.killContainer(pod, c, graceSeconds))));
  }

  /** Stops every container (preStop, grace) and sandbox of the pod (the sandbox stop runs CNI DEL). */
  async killPod(pod: KObject, graceSeconds: number): Promise<RuntimePodState> {
    const uid: string = pod.metadata?.uid ?? '';
    const st = await this.state(uid);
    await this.killContainers(pod, st.containers, graceSeconds);
    for (const s of st.sandboxes) await this.o.runtime.stopPodSandbox(s.id);
    this.o.probes.removePod(uid);
    return this.state(uid);
  }

  /** Removes every runtime object, log and cgroup of the pod (volumes are torn down by the caller). */
  async removePod(uid: string, podForLogs?: KObject): Promise<void> {
    const rt = this.o.runtime;
    // Removal is verified: containerd can still list a sandbox right after removing it while
    // its exit is being processed, so list again until nothing of the pod is left.
    const sandboxIds = new Set<string>();
    for (let attempt = 0; ; attempt++) {
      const st = await this.state(uid);
      if (!st.containers.length && !st.sandboxes.length) break;
      for (const s of st.sandboxes) sandboxIds.add(s.id);
      if (attempt >= 20) throw new Error(`pod ${uid}: runtime objects still present after removal`);
      if (attempt > 0) await new Promise((r) => setTimeout(r, 100 * Math.min(attempt, 5)));
      for (const c of st.containers) {
        if (c.state === 'CONTAINER_RUNNING') await rt.stopContainer(c.id, 0);
        await rt.removeContainer(c.id);
      }
      for (const s of st.sandboxes) {
        await rt.stopPodSandbox(s.id);
        await rt.removePodSandbox(s.id);
      }
      this.o.log('debug', `removed pod ${uid} (pass ${attempt + 1}): containers [${st.containers.map((c) => c.id.slice(0, 12)).join(' ')}] sandboxes [${st.sandboxes.map((s) => s.id.slice(0, 12)).join(' ')}]`);
    }
    const leaked = await cleanupMasqRules([...sandboxIds]);
    if (leaked.length) this.o.log('info', `removed masquerade chains CNI DEL left behind: ${leaked.join(' ')}`);
    this.o.probes.removePod(uid);
    this.o.crashBackoff.resetPrefix(`${uid}/`);
    this.nextSandboxAttempt.delete(uid);
    if (podForLogs) rmSync(podLogDirectory(this.o.logRoot, podForLogs), { recursive: true, force: true });
    else {
      try {
        for (const d of readdirSync(this.o.logRoot)) if (d.endsWith(`_${uid}`)) rmSync(join(this.o.logRoot, d), { recursive: true, force: true });
      } catch {
        // no logs
      }
    }
    removeCgroup(cgroupParent({ metadata: { uid } }));
  }

  /** Garbage: dead containers beyond the newest per name, and old sandboxes without containers. */
  async gcPod(uid: string): Promise<void> {
    const rt = this.o.runtime;
    const st = await this.state(uid);
    const seenDead = new Set<string>();
    for (const c of st.containers) {
      if (c.state !== 'CONTAINER_EXITED') continue;
      const n = nameOf(c);
      if (!seenDead.has(n)) {
        seenDead.add(n);
        continue;
      }
      await rt.removeContainer(c.id);
    }
    const newest = st.sandboxes[0];
    for (const s of st.sandboxes) {
      if (s === newest || s.state === 'SANDBOX_READY') continue;
      if (st.containers.some((c) => c.podSandboxId === s.id && seenDead.has(nameOf(c)) && c.state !== 'CONTAINER_EXITED')) continue;
      const holds = st.containers.filter((c) => c.podSandboxId === s.id);
      const remaining = await Promise.all(holds.map((c) => rt.containerStatus(c.id)));
      if (remaining.some(Boolean)) continue;
      await rt.removePodSandbox(s.id);
      await cleanupMasqRules([s.id]);
    }
  }

  /** The termination message: the file the container wrote, or (FallbackToLogsOnError) its log tail. */
  terminationMessage(pod: KObject | undefined, c: ContainerStatus): string | undefined {
    const host = c.annotations?.[TERMINATION_MESSAGE_HOST_ANNOTATION];
    let msg = '';
    if (host) {
      try {
        msg = readFileSync(host, 'utf8').slice(0, 4096);
      } catch {
        msg = '';
      }
    }
    if (msg) return msg;
    const spec = [...(pod?.spec?.containers ?? []), ...(pod?.spec?.initContainers ?? [])].find((s: KObject) => s.name === nameOf(c));
    if (spec?.terminationMessagePolicy === 'FallbackToLogsOnError' && c.exitCode !== 0 && c.logPath) {
      try {
        const lines = readFileSync(c.logPath, 'utf8').split('\n').filter(Boolean).slice(-80);
        // CRI log lines: "<time> <stream> <P|F> <text>".
        return lines.map((l) => l.split(' ').slice(3).join(' ')).join('\n').slice(-2048) || undefined;
      } catch {
        return undefined;
      }
    }
    return undefined;
  }
}

/** Removes the pod's cgroup directories (cgroupfs, v1 hierarchies or v2). */
export function removeCgroup(path: string): void {
  const root = '/sys/fs/cgroup';
  let dirs: string[];
  try {
    dirs = readdirSync(root);
  } catch {
    return;
  }
  const candidates = [join(root, path)];
  for (const d of dirs) candidates.push(join(root, d, path));
  for (const dir of candidates) {
    try {
      if (!existsSync(dir)) continue;
      // Nested leftovers first (runc removes its own; be thorough).
      for (const sub of readdirSync(dir, { withFileTypes: true })) if (sub.isDirectory()) rmdirSync(join(dir, sub.name));
      rmdirSync(dir);
      const parent = join(dir, '..');
      if (readdirSync(parent, { withFileTypes: true }).every((e) => !e.isDirectory())) rmdirSync(parent);
    } catch {
      // busy or gone
    }
  }
}
