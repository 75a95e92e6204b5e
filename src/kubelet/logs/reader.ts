// Reads (and follows) a CRI container log file for `kubectl logs`: tail, since, timestamps and
// limitBytes, with partial records joined back into whole lines (a P record's content is
// continued by the next record of its stream, so neither a newline nor a timestamp goes
// between them). Follow mode waits for appends (inotify through fs.watch, with polling as a
// backstop), notices truncation and rotation, and ends once the container has stopped and
// the file is drained.
import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { parseCriLogRecord, type CriLogRecord, type LogStream } from './cri-log.js';

export interface LogReadOptions {
  follow?: boolean;
  /** Only the last N lines (counted as whole lines, partial records joined). */
  tailLines?: number;
  /** Prefix each line with its RFC3339Nano timestamp and a space. */
  timestamps?: boolean;
  /** Only lines written at or after this time (milliseconds since the epoch). */
  sinceMs?: number;
  /** Stop after writing this many bytes. */
  limitBytes?: number;
  /** Only this stream (default both). */
  stream?: LogStream;
}

export interface FollowControl {
  /** Follow ends once this says false and the file has no more data. */
  isRunning?: () => Promise<boolean>;
  /** Ends the read (e.g. the client went away). */
  signal?: AbortSignal;
  /** Backstop poll period while idle (default 250 ms). */
  pollMs?: number;
  /** How often isRunning is asked while idle (default 1 s). */
  runningCheckMs?: number;
}

const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;
const NL = Buffer.from('\n');
const SP = Buffer.from(' ');

/** Writes the log at path to out (which is not ended). Resolves when done, aborted or at limitBytes. */
export async function readCriLog(path: string, opts: LogReadOptions, out: Writable, ctl: FollowControl = {}): Promise<void> {
  let fh: FileHandle = await open(path, 'r');
  let watcher: FSWatcher | undefined;
  try {
    const emitter = new LineEmitter(opts);
    let pos = opts.tailLines !== undefined ? await tailOffset(fh, opts.tailLines) : 0;
    let carry: Buffer | undefined;
    let finishing = false;
    let wake: (() => void) | undefined;
    let changed = false;
    const poke = () => {
      changed = true;
      wake?.();
    };
    let lastRunningCheck = Date.now();
    const onAbort = () => poke();
    ctl.signal?.addEventListener('abort', onAbort);
    try {
      for (;;) {
        if (ctl.signal?.aborted || out.destroyed) return;
        const buf = Buffer.allocUnsafe(CHUNK); // fresh each time: out may hold on to what we write
        const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
        if (bytesRead > 0) {
          pos += bytesRead;
          const data = carry ? Buffer.concat([carry, buf.subarray(0, bytesRead)]) : buf.subarray(0, bytesRead);
          let start = 0;
          let nl: number;
          const parts: Buffer[] = [];
          let more = true;
          while (more && (nl = data.indexOf(NEWLINE, start)) >= 0) {
            const rec = parseCriLogRecord(data.subarray(start, nl));
            start = nl + 1;
            if (rec) more = emitter.add(rec, parts);
          }
          carry = start < data.length ? Buffer.from(data.subarray(start)) : undefined;
          if (parts.length) await write(out, parts.length === 1 ? parts[0] : Buffer.concat(parts));
          if (!more) return; // limitBytes reached
          continue;
        }
        if (!opts.follow || finishing) return;

        // At the end of the file: has it been truncated or replaced (rotation)?
        const cur = await fh.stat();
        if (cur.size < pos) {
          pos = 0;
          carry = undefined;
          continue;
        }
        const onDisk = await stat(path).catch(() => undefined);
        if (onDisk && onDisk.ino !== cur.ino) {
          // The old file is drained: go on with the new one from its start.
          await fh.close();
          fh = await open(path, 'r');
          pos = 0;
          carry = undefined;
          watcher?.close();
          watcher = undefined;
          continue;
        }
        if (ctl.isRunning && Date.now() - lastRunningCheck >= (ctl.runningCheckMs ?? 1000)) {
          lastRunningCheck = Date.now();
          if (!(await ctl.isRunning().catch(() => false))) {
            finishing = true; // one more pass for what was written before it stopped
            continue;
          }
        }
        if (!watcher) {
          try {
            watcher = watch(path, { persistent: false }, poke);
            watcher.on('error', () => undefined);
          } catch {
            // no inotify: polling alone
          }
        }
        if (!changed) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, ctl.pollMs ?? 250);
            wake = () => {
              clearTimeout(t);
              resolve();
            };
          });
          wake = undefined;
        }
        changed = false;
      }
    } finally {
      ctl.signal?.removeEventListener('abort', onAbort);
    }
  } finally {
    watcher?.close();
    await fh.close().catch(() => undefined);
  }
}

/** Turns records into output bytes: since filter, timestamps, limitBytes, partial joining. */
class LineEmitter {
  private readonly midLine: Record<LogStream, boolean> = { stdout: false, stderr: false };
  private readonly skipping: Record<LogStream, boolean> = { stdout: false, stderr: false };
  private remaining: number;

  constructor(private readonly opts: LogReadOptions) {
    this.remaining = opts.limitBytes !== undefined && opts.limitBytes > 0 ? opts.limitBytes : Infinity;
  }

  /** Appends the record's output to parts; false once limitBytes is reached. */
  add(rec: CriLogRecord, parts: Buffer[]): boolean {
    const s = rec.stream;
    if (this.opts.stream && this.opts.stream !== s) return true;
    const lineStart = !this.midLine[s];
    this.midLine[s] = rec.partial;
    if (lineStart) this.skipping[s] = this.opts.sinceMs !== undefined && !(rec.timeMs >= this.opts.sinceMs);
    if (this.skipping[s]) return true;
    if (lineStart && this.opts.timestamps) {
      if (!this.push(Buffer.from(rec.time), parts) || !this.push(SP, parts)) return false;
    }
    if (rec.content.length && !this.push(rec.content, parts)) return false;
    if (!rec.partial && !this.push(NL, parts)) return false;
    return this.remaining > 0;
  }

  private push(b: Buffer, parts: Buffer[]): boolean {
    if (this.remaining <= 0) return false;
    if (b.length > this.remaining) b = b.subarray(0, this.remaining);
    this.remaining -= b.length;
    parts.push(b);
    return true;
  }
}

/**
 * The file offset where the last n lines begin. Lines are counted as the reader prints them:
 * an F record ends a line, and an unfinished run of P records at the end is a line too.
 */
export async function tailOffset(fh: FileHandle, n: number): Promise<number> {
  const size = (await fh.stat()).size;
  if (n <= 0) return size;
  let pos = size;
  let rest: Buffer | undefined; // bytes [pos, pos+rest.length) not yet split into records
  let target = -1; // which F record from the end bounds the tail (known after the last record)
  let fSeen = 0;
  while (pos > 0) {
    const len = Math.min(CHUNK, pos);
    pos -= len;
    const chunk = Buffer.allocUnsafe(len);
    await fh.read(chunk, 0, len, pos);
    const data = rest ? Buffer.concat([chunk, rest]) : chunk;
    // Complete records are the pieces between newlines; what precedes the first newline
    // continues into the previous chunk (unless we are at the start of the file).
    // (On the first chunk, bytes after the last newline are a record still being written.)
    let end = data.lastIndexOf(NEWLINE);
    while (end >= 0) {
      const prevNl = end > 0 ? data.lastIndexOf(NEWLINE, end - 1) : -1;
      if (prevNl < 0 && pos > 0) break; // its start is in the previous chunk
      const rec = parseCriLogRecord(data.subarray(prevNl + 1, end));
      if (rec) {
        if (target < 0) target = rec.partial ? n : n + 1;
        if (!rec.partial && ++fSeen === target) return pos + end + 1;
      }
      end = prevNl;
    }
    rest = end >= 0 ? data.subarray(0, end + 1) : data;
    if (end < 0 && pos === 0) break;
  }
  return 0;
}

function write(out: Writable, chunk: Buffer): Promise<void> {
  if (out.destroyed) return Promise.resolve();
  if (out.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      out.off('drain', done);
      out.off('close', done);
      resolve();
    };
    out.once('drain', done);
    out.once('close', done);
  });
}
