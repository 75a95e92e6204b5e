// Imports image archives (OCI layout or docker-save tars, optionally gzipped)
// into containerd's k8s.io namespace, where the CRI plugin sees them. We shell
// out to `ctr`, which ships with containerd and unpacks into the snapshotter.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const CRI_NAMESPACE = 'k8s.io';

export interface ImportOptions {
  /** containerd's gRPC socket. */
  socket: string;
  namespace?: string;
  /** Snapshotter to unpack into; must match the CRI plugin's (overlayfs or native). */
  snapshotter?: string;
  ctrPath?: string;
  timeoutMs?: number;
}

export interface ImportResult {
  file: string;
  /** Image names ctr reported as unpacked. */
  images: string[];
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${(stderr || err.message).trim()}`));
      else resolve(stdout + stderr);
    });
  });
}

/** Imports one archive; returns the image names that were tagged. */
export async function importImage(file: string, opts: ImportOptions): Promise<ImportResult> {
  const args = ['--address', opts.socket, '-n', opts.namespace ?? CRI_NAMESPACE, 'images', 'import', '--all-platforms'];
  if (opts.snapshotter) args.push('--snapshotter', opts.snapshotter);
  args.push(file);
  const out = await run(opts.ctrPath ?? 'ctr', args, opts.timeoutMs ?? 5 * 60_000);
  // ctr prints "unpacking <name> (sha256:...)...done" per image.
  const images = [...out.matchAll(/unpacking (\S+) \(sha256:[0-9a-f]+\)/g)].map((m) => m[1]);
  return { file, images };
}

const ARCHIVE_SUFFIXES = ['.tar', '.tar.gz', '.tgz'];

/** Archives in dir (not recursive), sorted by name; [] when dir is missing. */
export function listImageArchives(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => ARCHIVE_SUFFIXES.some((s) => n.endsWith(s)))
    .map((n) => join(dir, n))
    .filter((p) => statSync(p).isFile())
    .sort();
}

/**
 * Imports every archive in dir (like k3s's agent/images/ at startup), one at a
 * time. A broken archive does not stop the others: its error is in the result.
 */
export async function importImageDir(
  dir: string,
  socket: string,
  opts: Omit<ImportOptions, 'socket'> = {},
): Promise<(ImportResult & { error?: string })[]> {
  const results: (ImportResult & { error?: string })[] = [];
  for (const file of listImageArchives(dir)) {
    try {
      results.push(await importImage(file, { ...opts, socket }));
    } catch (err) {
      results.push({ file, images: [], error: (err as Error).message });
    }
  }
  return results;
}
