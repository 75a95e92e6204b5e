// Where a skiff agent keeps its containerd, under the data dir (like k3s's
// agent/ tree): one place, so the agent, the CLI and tests agree.
import { join } from 'node:path';

export interface ContainerdPaths {
  rootDir: string;
  stateDir: string;
  socket: string;
  cniConfDir: string;
  /** Image archives imported at agent start. */
  imagesDir: string;
  logFile: string;
  configFile: string;
}

export function containerdPaths(dataDir: string): ContainerdPaths {
  const agent = join(dataDir, 'agent');
  const rootDir = join(agent, 'containerd');
  const stateDir = join(agent, 'run', 'containerd');
  return {
    rootDir,
    stateDir,
    socket: join(stateDir, 'containerd.sock'),
    cniConfDir: join(agent, 'etc', 'cni', 'net.d'),
    imagesDir: join(agent, 'images'),
    logFile: join(rootDir, 'containerd.log'),
    configFile: join(agent, 'etc', 'containerd', 'config.toml'),
  };
}
