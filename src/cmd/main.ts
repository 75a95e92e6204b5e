// skiff CLI entry: dispatches to one file per subcommand.
export async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'server':
      return (await import('./server.js')).run(rest);
    case 'agent':
      return (await import('./agent.js')).run(rest);
    case 'controller-manager':
      return (await import('./controller-manager.js')).run(rest);
    case 'hollow-nodes':
      return (await import('./hollow-nodes.js')).run(rest);
    case 'images':
      return (await import('./images.js')).run(rest);
    case 'kubelet':
      return (await import('./kubelet.js')).run(rest);
    case 'scheduler':
      return (await import('./scheduler.js')).run(rest);
    case 'proxy':
      return (await import('./proxy.js')).run(rest);
    case 'dns':
      return (await import('./dns.js')).run(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(`skiff: unknown command "${cmd}"\n${USAGE}`);
      process.exit(1);
  }
}

const USAGE = `Usage: skiff <command> [flags]

Commands:
  server       run the control plane (store, API server, scheduler, controllers, DNS)
  agent        join this machine to a cluster as a worker node (--server URL --token T)
  controller-manager  run the controllers (--kubeconfig PATH [--controllers ...] [--leader-elect])
  hollow-nodes simulate N nodes for scale tests (--count N)
  scheduler    run the scheduler against an API server (--kubeconfig)
  proxy        run the iptables service proxy on this node (--kubeconfig; --cleanup removes its rules)
  dns          run cluster DNS against an API server (--kubeconfig [--listen HOST:PORT] [--upstream IP])
  images       build the local busybox/pause images, import image archives into containerd
  kubelet      run the node agent against an API server (--kubeconfig PATH --node-name N --data-dir DIR)
`;
