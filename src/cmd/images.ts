// `skiff images`: build the local images a node needs without a registry, and
// import image archives into a skiff containerd's k8s.io namespace.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { containerdPaths } from '../kubelet/containerd/paths.js';
import { importImage, CRI_NAMESPACE } from '../images/import.js';
import { buildTestImages, BUSYBOX_IMAGE, PAUSE_IMAGE } from '../images/test-images.js';

const USAGE = `Usage:
  skiff images import FILE... [flags]     import OCI / docker-save archives (.tar, .tar.gz)
  skiff images build-test-images DIR      write busybox.tar (${BUSYBOX_IMAGE}) and
                                          pause.tar (${PAUSE_IMAGE}) into DIR

Flags for import:
  --data-dir DIR        skiff data dir; the socket is <DIR>/agent/run/containerd/containerd.sock
                        (default /var/lib/skiff)
  --address SOCK        containerd socket (overrides --data-dir)
  --namespace NS        containerd namespace (default ${CRI_NAMESPACE})
  --snapshotter NAME    snapshotter to unpack into (default: containerd's default)

Put archives in <data-dir>/agent/images/ to have the agent import them at start.
`;

export async function run(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'build-test-images') {
    const { positionals } = parseArgs({ args: rest, allowPositionals: true, options: {} });
    if (positionals.length !== 1) fail('build-test-images needs exactly one DIR');
    const out = buildTestImages(resolve(positionals[0]));
    process.stdout.write(`${out.busybox}\t${BUSYBOX_IMAGE}\n${out.pause}\t${PAUSE_IMAGE} (${out.pauseKind === 'c' ? 'static C pause' : 'busybox shell pause: no C compiler'})\n`);
    return;
  }
  if (sub === 'import') {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        'data-dir': { type: 'string', default: '/var/lib/skiff' },
        address: { type: 'string' },
        namespace: { type: 'string', default: CRI_NAMESPACE },
        snapshotter: { type: 'string' },
      },
    });
    if (positionals.length === 0) fail('import needs at least one FILE');
    const socket = values.address ?? containerdPaths(values['data-dir']!).socket;
    for (const file of positionals) {
      const r = await importImage(resolve(file), { socket, namespace: values.namespace, snapshotter: values.snapshotter })
        .catch((err: Error) => fail(err.message, false));
      process.stdout.write(`${file}: ${r.images.length ? r.images.join(', ') : '(no named images)'}\n`);
    }
    return;
  }
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  fail(`unknown images subcommand "${sub}"`);
}

function fail(msg: string, withUsage = true): never {
  process.stderr.write(`skiff images: ${msg}\n${withUsage ? USAGE : ''}`);
  process.exit(1);
}
