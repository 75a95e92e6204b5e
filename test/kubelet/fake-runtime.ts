// An in-memory KubeletRuntime for unit tests: sandboxes and containers with containerd's name
// rules (a sandbox name "<pod>_<ns>_<uid>_<attempt>" stays reserved while a sandbox holds it,
// or after a failed call that did not release it), every call recorded, and hooks to make
// RunPodSandbox fail the way containerd does.
import type {
  Container,
  ContainerConfig,
  ContainerFilter,
  ContainerStatus,
  ExecResult,
  Image,
  KubeletRuntime,
  PodSandbox,
  PodSandboxConfig,
  PodSandboxStatus,
  RuntimeCondition,
  RuntimeVersion,
  SandboxFilter,
} from '../../src/kubelet/runtime/types.js';

/** What a failing RunPodSandbox leaves behind. */
export type SandboxFailure =
  /** A NOTREADY sandbox stays listed (e.g. CNI setup failed and the cleanup did not finish). */
  | 'leak'
  /** Nothing is listed, but the name stays reserved (e.g. the call timed out while containerd went on). */
  | 'reserve'
  /** A clean failure: nothing listed, name released. */
  | 'clean';

interface FakeSandbox extends PodSandboxStatus {
  name: string;
}

const matches = (labels: Record<string, string>, sel?: Record<string, string>) => !sel || Object.entries(sel).every(([k, v]) => labels[k] === v);

export class FakeRuntime implements KubeletRuntime {
  readonly calls: string[] = [];
  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly containers = new Map<string, ContainerStatus>();
  /** Names held by a sandbox or by a failed call. */
  readonly reservedNames = new Set<string>();
  /** The next RunPodSandbox calls fail like this, one entry per call. */
  readonly sandboxFailures: SandboxFailure[] = [];
  /** Configs of every RunPodSandbox call, in order. */
  readonly runSandboxConfigs: PodSandboxConfig[] = [];
  private seq = 0;
  private clock = 1_000_000;

  private now(): number {
    return (Date.now() * 1e6) + ++this.clock;
  }

  async version(): Promise<RuntimeVersion> {
    return { runtimeName: 'fake', runtimeVersion: '0.0.1', runtimeApiVersion: 'v1' };
  }
  async status(): Promise<RuntimeCondition[]> {
    return [
      { type: 'RuntimeReady', status: true },
      { type: 'NetworkReady', status: true },
    ];
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const md = config.metadata;
    const name = `${md.name}_${md.namespace}_${md.uid}_${md.attempt}`;
    this.calls.push(`runPodSandbox ${name}`);
    this.runSandboxConfigs.push(config);
    if (this.reservedNames.has(name)) {
      throw new Error(`failed to reserve sandbox name "${name}": name "${name}" is reserved for "${[...this.sandboxes.values()].find((s) => s.name === name)?.id ?? 'a failed call'}"`);
    }
    const failure = this.sandboxFailures.shift();
    const id = `sb${++this.seq}`.padEnd(16, '0');
    const sandbox: FakeSandbox = {
      id,
      name,
      metadata: { ...md },
      state: 'SANDBOX_READY',
      createdAt: this.now(),
      labels: { ...(config.labels ?? {}) },
      annotations: { ...(config.annotations ?? {}) },
      network: { ip: `10.88.0.${this.seq}` },
    };
    if (failure === 'leak') {
      this.reservedNames.add(name);
      this.sandboxes.set(id, { ...sandbox, state: 'SANDBOX_NOTREADY', network: undefined });
      throw new Error('failed to setup network for sandbox: plugin type="bridge" failed (add): injected');
    }
    if (failure === 'reserve') {
      this.reservedNames.add(name);
      throw new Error('rpc error: code = DeadlineExceeded desc = context deadline exceeded');
    }
    if (failure === 'clean') throw new Error('failed to create sandbox: injected');
    this.reservedNames.add(name);
    this.sandboxes.set(id, sandbox);
    return id;
  }
  async stopPodSandbox(id: string): Promise<void> {
    this.calls.push(`stopPodSandbox ${id}`);
    const s = this.sandboxes.get(id);
    if (!s) return;
    s.state = 'SANDBOX_NOTREADY';
    for (const c of this.containers.values()) if (c.podSandboxId === id && c.state === 'CONTAINER_RUNNING') this.exit(c, 137);
  }
  async removePodSandbox(id: string): Promise<void> {
    this.calls.push(`removePodSandbox ${id}`);
    const s = this.sandboxes.get(id);
    if (!s) return;
    if (s.state === 'SANDBOX_READY') throw new Error(`sandbox ${id} is still running`);
    for (const [cid, c] of this.containers) if (c.podSandboxId === id) this.containers.delete(cid);
    this.sandboxes.delete(id);
    this.reservedNames.delete(s.name);
  }
  async podSandboxStatus(id: string): Promise<PodSandboxStatus | undefined> {
    const s = this.sandboxes.get(id);
    return s && { ...s, metadata: { ...s.metadata }, network: s.network && { ...s.network } };
  }
  async listPodSandboxes(filter?: SandboxFilter): Promise<PodSandbox[]> {
    return [...this.sandboxes.values()]
      .filter((s) => (!filter?.id || s.id === filter.id) && (!filter?.state || s.state === filter.state) && matches(s.labels, filter?.labelSelector))
      .map((s) => ({ id: s.id, metadata: { ...s.metadata }, state: s.state, createdAt: s.createdAt, labels: s.labels, annotations: s.annotations }));
  }

  async createContainer(podSandboxId: string, config: ContainerConfig): Promise<string> {
    this.calls.push(`createContainer ${config.metadata.name}`);
    if (this.sandboxes.get(podSandboxId)?.state !== 'SANDBOX_READY') throw new Error(`sandbox ${podSandboxId} is not ready`);
    const id = `c${++this.seq}`.padEnd(16, '0');
    this.containers.set(id, {
      id,
      podSandboxId,
      metadata: { ...config.metadata },
      image: config.image.image,
      imageRef: `sha256:${config.image.image}`,
      state: 'CONTAINER_CREATED',
      createdAt: this.now(),
      labels: { ...(config.labels ?? {}) },
      annotations: { ...(config.annotations ?? {}) },
      startedAt: 0,
      finishedAt: 0,
      exitCode: 0,
      reason: '',
      message: '',
    });
    return id;
  }
  async startContainer(id: string): Promise<void> {
    this.calls.push(`startContainer ${id}`);
    const c = this.containers.get(id);
    if (!c) throw new Error(`container ${id} not found`);
    c.state = 'CONTAINER_RUNNING';
    c.startedAt = this.now();
  }
  private exit(c: ContainerStatus, code: number): void {
    c.state = 'CONTAINER_EXITED';
    c.exitCode = code;
    c.finishedAt = this.now();
    c.reason = code === 0 ? 'Completed' : 'Error';
  }
  async stopContainer(id: string): Promise<void> {
    this.calls.push(`stopContainer ${id}`);
    const c = this.containers.get(id);
    if (c?.state === 'CONTAINER_RUNNING') this.exit(c, 137);
  }
  async removeContainer(id: string): Promise<void> {
    this.calls.push(`removeContainer ${id}`);
    this.containers.delete(id);
  }
  async listContainers(filter?: ContainerFilter): Promise<Container[]> {
    return [...this.containers.values()].filter(
      (c) =>
        (!filter?.id || c.id === filter.id) &&
        (!filter?.podSandboxId || c.podSandboxId === filter.podSandboxId) &&
        (!filter?.state || c.state === filter.state) &&
        matches(c.labels, filter?.labelSelector),
    );
  }
  async containerStatus(id: string): Promise<ContainerStatus | undefined> {
    const c = this.containers.get(id);
    return c && { ...c, metadata: { ...c.metadata } };
  }
  async execSync(): Promise<ExecResult> {
    return { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: 0 };
  }
  async pullImage(image: string): Promise<string> {
    return `sha256:${image}`;
  }
  async imageStatus(image: string): Promise<Image | undefined> {
    return { id: `sha256:${image}`, repoTags: [image], repoDigests: [], size: 1 };
  }
  async listImages(): Promise<Image[]> {
    return [];
  }
}
