// KubeletRuntime over the CRI gRPC client (containerd's CRI plugin): mostly renaming, plus
// "not found" turned into undefined where the kubelet asks whether something exists.
import { isCriNotFound, type CriClient } from '../cri/client.js';
import type * as cri from '../cri/types.js';
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
} from './types.js';

const toImage = (i: cri.Image): Image => ({ id: i.id, repoTags: i.repoTags ?? [], repoDigests: i.repoDigests ?? [], size: Number(i.size) || 0 });

const toSandbox = (s: cri.PodSandbox | cri.PodSandboxStatus): PodSandbox => ({
  id: s.id,
  metadata: s.metadata,
  state: s.state,
  createdAt: s.createdAt,
  labels: s.labels ?? {},
  annotations: s.annotations ?? {},
});

const toContainer = (c: cri.Container): Container => ({
  id: c.id,
  podSandboxId: c.podSandboxId,
  metadata: c.metadata,
  image: c.image?.image ?? '',
  imageRef: c.imageRef,
  state: c.state,
  createdAt: c.createdAt,
  labels: c.labels ?? {},
  annotations: c.annotations ?? {},
});

export class CriRuntime implements KubeletRuntime {
  constructor(readonly cri: CriClient) {}

  async version(): Promise<RuntimeVersion> {
    const v = await this.cri.runtime.version();
    return { runtimeName: v.runtimeName, runtimeVersion: v.runtimeVersion, runtimeApiVersion: v.runtimeApiVersion };
  }

  async status(): Promise<RuntimeCondition[]> {
    const s = await this.cri.runtime.status();
    return (s.status?.conditions ?? []).map((c) => ({ type: c.type, status: c.status, reason: c.reason, message: c.message }));
  }

  runPodSandbox(config: PodSandboxConfig, runtimeHandler?: string): Promise<string> {
    return this.cri.runtime.runPodSandbox(config as cri.PodSandboxConfig, runtimeHandler ?? '');
  }

  async stopPodSandbox(id: string): Promise<void> {
    try {
      await this.cri.runtime.stopPodSandbox(id);
    } catch (e) {
      if (!isCriNotFound(e)) throw e;
    }
  }

  async removePodSandbox(id: string): Promise<void> {
    try {
      await this.cri.runtime.removePodSandbox(id);
    } catch (e) {
      if (!isCriNotFound(e)) throw e;
    }
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus | undefined> {
    try {
      const { status } = await this.cri.runtime.podSandboxStatus(id);
      const out: PodSandboxStatus = toSandbox(status);
      if (status.network?.ip) out.network = { ip: status.network.ip, additionalIps: (status.network.additionalIps ?? []).map((a) => a.ip) };
      return out;
    } catch (e) {
      if (isCriNotFound(e)) return undefined;
      throw e;
    }
  }

  async listPodSandboxes(filter?: SandboxFilter): Promise<PodSandbox[]> {
    const f: cri.PodSandboxFilter | undefined = filter
      ? { id: filter.id, state: filter.state ? { state: filter.state } : undefined, labelSelector: filter.labelSelector }
      : undefined;
    return (await this.cri.runtime.listPodSandbox(f)).map(toSandbox);
  }

  createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    return this.cri.runtime.createContainer(podSandboxId, config as cri.ContainerConfig, sandboxConfig as cri.PodSandboxConfig);
  }

  startContainer(id: string): Promise<void> {
    return this.cri.runtime.startContainer(id);
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.cri.runtime.stopContainer(id, timeoutSeconds);
    } catch (e) {
      if (!isCriNotFound(e)) throw e;
    }
  }

  async removeContainer(id: string): Promise<void> {
    try {
      await this.cri.runtime.removeContainer(id);
    } catch (e) {
      if (!isCriNotFound(e)) throw e;
    }
  }

  async listContainers(filter?: ContainerFilter): Promise<Container[]> {
    const f: cri.ContainerFilter | undefined = filter
      ? { id: filter.id, podSandboxId: filter.podSandboxId, state: filter.state ? { state: filter.state } : undefined, labelSelector: filter.labelSelector }
      : undefined;
    return (await this.cri.runtime.listContainers(f)).map(toContainer);
  }

  async containerStatus(id: string): Promise<ContainerStatus | undefined> {
    try {
      const { status: s } = await this.cri.runtime.containerStatus(id);
      return {
        id: s.id,
        podSandboxId: '',
        metadata: s.metadata,
        image: s.image?.image ?? '',
        imageRef: s.imageRef,
        state: s.state,
        createdAt: s.createdAt,
        startedAt: s.startedAt,
        finishedAt: s.finishedAt,
        exitCode: s.exitCode,
        reason: s.reason,
        message: s.message,
        labels: s.labels ?? {},
        annotations: s.annotations ?? {},
        logPath: s.logPath,
        mounts: (s.mounts ?? []).map((m) => ({ containerPath: m.containerPath, hostPath: m.hostPath ?? '', readonly: m.readonly })),
      };
    } catch (e) {
      if (isCriNotFound(e)) return undefined;
      throw e;
    }
  }

  async execSync(id: string, cmd: string[], timeoutSeconds: number): Promise<ExecResult> {
    const r = await this.cri.runtime.execSync(id, cmd, timeoutSeconds);
    return { stdout: r.stdout ?? Buffer.alloc(0), stderr: r.stderr ?? Buffer.alloc(0), exitCode: r.exitCode };
  }

  pullImage(image: string, sandboxConfig?: PodSandboxConfig): Promise<string> {
    return this.cri.image.pullImage({ image }, undefined, sandboxConfig as cri.PodSandboxConfig | undefined);
  }

  async imageStatus(image: string): Promise<Image | undefined> {
    const r = await this.cri.image.imageStatus({ image });
    return r.image && r.image.id ? toImage(r.image) : undefined;
  }

  async listImages(): Promise<Image[]> {
    return (await this.cri.image.listImages()).map(toImage);
  }
}
