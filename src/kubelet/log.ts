// The kubelet's logger: one function, so tests and `skiff server` can route or silence it.
export type KubeletLogLevel = 'debug' | 'info' | 'warning' | 'error';
export type KubeletLog = (level: KubeletLogLevel, msg: string) => void;

export function defaultKubeletLog(verbose = false): KubeletLog {
  return (level, msg) => {
    if (level === 'debug' && !verbose) return;
    process.stderr.write(`${new Date().toISOString()} kubelet ${level}: ${msg}\n`);
  };
}
