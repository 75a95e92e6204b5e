// CRI v1 client: RuntimeService and ImageService over a unix socket (gRPC),
// with one promise per call and a deadline on every call.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type {
  AttachRequest, AuthConfig, Container, ContainerConfig, ContainerFilter, ContainerStats, ContainerStatsFilter,
  ContainerStatusResponse, ExecRequest, ExecSyncResponse, Image, ImageFsInfoResponse, ImageSpec,
  LinuxContainerResources, PodSandbox, PodSandboxConfig, PodSandboxFilter, PodSandboxStats,
  PodSandboxStatusResponse, StatusResponse, StringMap, VersionResponse,
} from './types.js';

export * from './types.js';

/** Default deadline of one call, like the kubelet's runtime request timeout. */
export const DEFAULT_CRI_TIMEOUT_MS = 2 * 60_000;
/** Pulls can be slow; the kubelet gives them no short deadline either. */
export const DEFAULT_PULL_TIMEOUT_MS = 15 * 60_000;
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** A failed CRI call: keeps the gRPC status code so callers can tell NotFound from other failures. */
export class CriError extends Error {
  constructor(readonly method: string, readonly code: grpc.status, readonly details: string) {
    super(`CRI ${method}: ${grpc.status[code] ?? code}: ${details}`);
    this.name = 'CriError';
  }
}

export function isCriNotFound(err: unknown): boolean {
  return err instanceof CriError && err.code === grpc.status.NOT_FOUND;
}

export { grpc };

/** api.proto ships in the source tree; the compiled client finds it beside itself or back in src/. */
function protoPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'api.proto'), join(here, '..', '..', '..', '..', 'src', 'kubelet', 'cri', 'api.proto')];
  for (const p of candidates) if (existsSync(p)) return p;
  throw new Error(`CRI api.proto not found (looked in ${candidates.join(', ')})`);
}

type ServiceCtor = grpc.ServiceClientConstructor;
let services: { runtime: ServiceCtor; image: ServiceCtor } | undefined;

function loadServices(): { runtime: ServiceCtor; image: ServiceCtor } {
  if (services) return services;
  const def = protoLoader.loadSync(protoPath(), {
    keepCase: false, // camelCase field names
    longs: Number,
    enums: String,
    defaults: true,
    arrays: true,
    objects: false,
    oneofs: false,
  });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { runtime: { v1: { RuntimeService: ServiceCtor; ImageService: ServiceCtor } } };
  services = { runtime: pkg.runtime.v1.RuntimeService, image: pkg.runtime.v1.ImageService };
  return services;
}

export interface CriClientOptions {
  /** Deadline of each call unless a call passes its own. */
  timeoutMs?: number;
}

/** Per-call options: a deadline in milliseconds from now. */
export interface CallOptions { timeoutMs?: number }

type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export class CriClient {
  readonly runtime: RuntimeApi;
  readonly image: ImageApi;
  private readonly runtimeStub: grpc.Client;
  private readonly imageStub: grpc.Client;

  /** socketPath: a unix socket path ("/run/x.sock") or a full gRPC target ("unix:///run/x.sock"). */
  constructor(socketPath: string, opts: CriClientOptions = {}) {
    const { runtime, image } = loadServices();
    const target = socketPath.startsWith('unix:') ? socketPath : `unix://${socketPath}`;
    const channelOpts: grpc.ChannelOptions = {
      'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
      'grpc.max_send_message_length': MAX_MESSAGE_BYTES,
    };
    this.runtimeStub = new runtime(target, grpc.credentials.createInsecure(), channelOpts);
    // Both services share the one HTTP/2 connection.
    this.imageStub = new image(target, grpc.credentials.createInsecure(), { ...channelOpts, channelOverride: this.runtimeStub.getChannel() });
    const timeout = opts.timeoutMs ?? DEFAULT_CRI_TIMEOUT_MS;
    this.runtime = new RuntimeApi(makeCaller(this.runtimeStub, timeout));
    this.image = new ImageApi(makeCaller(this.imageStub, timeout));
  }

  /** Resolves once the channel is connected (or rejects after timeoutMs). */
  waitForReady(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      this.runtimeStub.waitForReady(Date.now() + timeoutMs, (err) => (err ? reject(err) : resolve()));
    });
  }

  close(): void {
    this.imageStub.close();
    this.runtimeStub.close();
  }
}

type Caller = <T>(method: string, req: object, call?: CallOptions, defaultTimeoutMs?: number) => Promise<T>;

/** How long a call waits for a (re)starting containerd whose CRI plugin is still initializing. */
const CRI_INIT_WAIT_MS = 15_000;

function makeCaller(stub: grpc.Client, timeoutMs: number): Caller {
  const once = <T>(method: string, req: object, deadline: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const fn = (stub as unknown as Record<string, Unary>)[method];
      fn.call(stub, req, new grpc.Metadata(), { deadline }, (err, res) => {
        if (err) reject(new CriError(method, err.code, err.details || err.message));
        else resolve(res as T);
      });
    });
  return async <T>(method: string, req: object, call?: CallOptions, defaultTimeoutMs?: number): Promise<T> => {
    const t = call?.timeoutMs ?? defaultTimeoutMs ?? timeoutMs;
    const start = Date.now();
    for (;;) {
      try {
        return await once<T>(method, req, Date.now() + t);
      } catch (e) {
        // Right after containerd (re)starts its socket accepts calls before the CRI plugin is ready.
        const initializing = e instanceof CriError && /server is not initialized yet/.test(e.details);
        if (!initializing || Date.now() - start > Math.min(t, CRI_INIT_WAIT_MS)) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
}

/** runtime.v1.RuntimeService */
export class RuntimeApi {
  constructor(private readonly call: Caller) {}

  version(version = 'v1', o?: CallOptions): Promise<VersionResponse> {
    return this.call('Version', { version }, o);
  }

  status(verbose = false, o?: CallOptions): Promise<StatusResponse> {
    return this.call('Status', { verbose }, o);
  }

  async updateRuntimeConfig(podCidr: string, o?: CallOptions): Promise<void> {
    await this.call('UpdateRuntimeConfig', { runtimeConfig: { networkConfig: { podCidr } } }, o);
  }

  /** Returns the new sandbox id. */
  async runPodSandbox(config: PodSandboxConfig, runtimeHandler = '', o?: CallOptions): Promise<string> {
    const res = await this.call<{ podSandboxId: string }>('RunPodSandbox', { config, runtimeHandler }, o);
    return res.podSandboxId;
  }

  async stopPodSandbox(podSandboxId: string, o?: CallOptions): Promise<void> {
    await this.call('StopPodSandbox', { podSandboxId }, o);
  }

  async removePodSandbox(podSandboxId: string, o?: CallOptions): Promise<void> {
    await this.call('RemovePodSandbox', { podSandboxId }, o);
  }

  podSandboxStatus(podSandboxId: string, verbose = false, o?: CallOptions): Promise<PodSandboxStatusResponse> {
    return this.call('PodSandboxStatus', { podSandboxId, verbose }, o);
  }

  async listPodSandbox(filter?: PodSandboxFilter, o?: CallOptions): Promise<PodSandbox[]> {
    const res = await this.call<{ items: PodSandbox[] }>('ListPodSandbox', { filter }, o);
    return res.items;
  }

  /** Returns the new container id. */
  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig, o?: CallOptions): Promise<string> {
    const res = await this.call<{ containerId: string }>('CreateContainer', { podSandboxId, config, sandboxConfig }, o);
    return res.containerId;
  }

  async startContainer(containerId: string, o?: CallOptions): Promise<void> {
    await this.call('StartContainer', { containerId }, o);
  }

  /** timeoutSeconds: grace period before the runtime kills the container (0 = kill now). */
  async stopContainer(containerId: string, timeoutSeconds: number, o?: CallOptions): Promise<void> {
    // The call must outlive the grace period it asks for.
    await this.call('StopContainer', { containerId, timeout: timeoutSeconds }, o, DEFAULT_CRI_TIMEOUT_MS + timeoutSeconds * 1000);
  }

  async removeContainer(containerId: string, o?: CallOptions): Promise<void> {
    await this.call('RemoveContainer', { containerId }, o);
  }

  async listContainers(filter?: ContainerFilter, o?: CallOptions): Promise<Container[]> {
    const res = await this.call<{ containers: Container[] }>('ListContainers', { filter }, o);
    return res.containers;
  }

  containerStatus(containerId: string, verbose = false, o?: CallOptions): Promise<ContainerStatusResponse> {
    return this.call('ContainerStatus', { containerId, verbose }, o);
  }

  async updateContainerResources(containerId: string, linux: LinuxContainerResources, annotations?: StringMap, o?: CallOptions): Promise<void> {
    await this.call('UpdateContainerResources', { containerId, linux, annotations }, o);
  }

  async reopenContainerLog(containerId: string, o?: CallOptions): Promise<void> {
    await this.call('ReopenContainerLog', { containerId }, o);
  }

  /** timeoutSeconds: the command's own limit (0 = none); the call's deadline is set past it. */
  execSync(containerId: string, cmd: string[], timeoutSeconds = 0, o?: CallOptions): Promise<ExecSyncResponse> {
    const deadline = timeoutSeconds > 0 ? timeoutSeconds * 1000 + 10_000 : DEFAULT_CRI_TIMEOUT_MS;
    return this.call('ExecSync', { containerId, cmd, timeout: timeoutSeconds }, o, deadline);
  }

  /** Returns the streaming server URL for the exec session. */
  async exec(req: ExecRequest, o?: CallOptions): Promise<string> {
    const res = await this.call<{ url: string }>('Exec', req, o);
    return res.url;
  }

  /** Returns the streaming server URL for the attach session. */
  async attach(req: AttachRequest, o?: CallOptions): Promise<string> {
    const res = await this.call<{ url: string }>('Attach', req, o);
    return res.url;
  }

  /** Returns the streaming server URL for port forwarding into the sandbox. */
  async portForward(podSandboxId: string, ports: number[] = [], o?: CallOptions): Promise<string> {
    const res = await this.call<{ url: string }>('PortForward', { podSandboxId, port: ports }, o);
    return res.url;
  }

  async containerStats(containerId: string, o?: CallOptions): Promise<ContainerStats> {
    const res = await this.call<{ stats: ContainerStats }>('ContainerStats', { containerId }, o);
    return res.stats;
  }

  async listContainerStats(filter?: ContainerStatsFilter, o?: CallOptions): Promise<ContainerStats[]> {
    const res = await this.call<{ stats: ContainerStats[] }>('ListContainerStats', { filter }, o);
    return res.stats;
  }

  async podSandboxStats(podSandboxId: string, o?: CallOptions): Promise<PodSandboxStats> {
    const res = await this.call<{ stats: PodSandboxStats }>('PodSandboxStats', { podSandboxId }, o);
    return res.stats;
  }

  async listPodSandboxStats(filter?: { id?: string; labelSelector?: StringMap }, o?: CallOptions): Promise<PodSandboxStats[]> {
    const res = await this.call<{ stats: PodSandboxStats[] }>('ListPodSandboxStats', { filter }, o);
    return res.stats;
  }
}

/** runtime.v1.ImageService */
export class ImageApi {
  constructor(private readonly call: Caller) {}

  async listImages(filter?: ImageSpec, o?: CallOptions): Promise<Image[]> {
    const res = await this.call<{ images: Image[] }>('ListImages', { filter: filter ? { image: filter } : undefined }, o);
    return res.images;
  }

  /** Returns null when the runtime does not have the image. */
  async imageStatus(image: ImageSpec, verbose = false, o?: CallOptions): Promise<{ image: Image | null; info: StringMap }> {
    return this.call('ImageStatus', { image, verbose }, o);
  }

  /** Returns the image reference (id) of the pulled image. */
  async pullImage(image: ImageSpec, auth?: AuthConfig, sandboxConfig?: PodSandboxConfig, o?: CallOptions): Promise<string> {
    const res = await this.call<{ imageRef: string }>('PullImage', { image, auth, sandboxConfig }, o, DEFAULT_PULL_TIMEOUT_MS);
    return res.imageRef;
  }

  async removeImage(image: ImageSpec, o?: CallOptions): Promise<void> {
    await this.call('RemoveImage', { image }, o);
  }

  /**
   * Waits until every ref is known to the runtime. containerd's CRI plugin
   * learns about images imported with ctr from events, a moment after the import.
   */
  async waitForImages(refs: string[], timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const ref of refs) {
      while (!(await this.imageStatus({ image: ref })).image) {
        if (Date.now() > deadline) throw new Error(`image ${ref} not visible through the CRI after ${timeoutMs}ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  imageFsInfo(o?: CallOptions): Promise<ImageFsInfoResponse> {
    return this.call('ImageFsInfo', {}, o);
  }
}
