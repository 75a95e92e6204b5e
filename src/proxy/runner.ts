// How the proxy runs iptables: an injectable command runner, so tests and benchmarks can run
// every command inside a private network namespace (`ip netns exec NAME ...`) or record them.
import { spawn } from 'node:child_process';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  /** Runs cmd with args, feeding input on stdin; never throws for a non-zero exit. */
  run(cmd: string, args: string[], input?: string): Promise<CommandResult>;
}

function spawnCollect(cmd: string, args: string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => resolve({ code: 127, stdout: '', stderr: String(e.message) }));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    // EPIPE when the command exits before reading everything: the exit code tells the story.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** Runs commands directly in this process's network namespace. */
export const hostRunner: CommandRunner = { run: spawnCollect };

/** Runs every command inside the named network namespace (root only). */
export function netnsRunner(netns: string): CommandRunner {
  return { run: (cmd, args, input) => spawnCollect('ip', ['netns', 'exec', netns, cmd, ...args], input) };
}
