// The CRI container log file format, as containerd writes it: one record per line,
//   <RFC3339Nano time> <stdout|stderr> <tags> <content>\n
// where the first tag is P (a partial line: the content continues in the next record of the
// stream) or F (the record ends the line). Long lines and lines written without a newline
// arrive as P records followed by an F record.

export type LogStream = 'stdout' | 'stderr';

export interface CriLogRecord {
  /** The timestamp exactly as written (RFC3339Nano). */
  time: string;
  /** Milliseconds since the epoch (NaN when the timestamp does not parse). */
  timeMs: number;
  stream: LogStream;
  /** True for a P record: the line goes on in the next record of this stream. */
  partial: boolean;
  /** The content without the record's trailing newline. */
  content: Buffer;
}

const SPACE = 0x20;

/**
 * Parses one record (without its trailing '\n'). Returns undefined for a malformed record,
 * which readers skip, as the kubelet does.
 */
export function parseCriLogRecord(line: Buffer): CriLogRecord | undefined {
  const s1 = line.indexOf(SPACE);
  if (s1 <= 0) return undefined;
  const s2 = line.indexOf(SPACE, s1 + 1);
  if (s2 < 0) return undefined;
  const streamText = line.toString('latin1', s1 + 1, s2);
  if (streamText !== 'stdout' && streamText !== 'stderr') return undefined;
  // Tags end at the next space; a record with empty content may end right after them.
  let s3 = line.indexOf(SPACE, s2 + 1);
  if (s3 < 0) s3 = line.length;
  const tags = line.toString('latin1', s2 + 1, s3);
  const time = line.toString('latin1', 0, s1);
  return {
    time,
    timeMs: Date.parse(time),
    stream: streamText,
    partial: tags.split(':')[0] === 'P',
    content: line.subarray(Math.min(s3 + 1, line.length)),
  };
}

/** Formats a record as containerd writes it (tests and fake runtimes use this). */
export function formatCriLogRecord(time: Date | string, stream: LogStream, partial: boolean, content: string | Buffer): Buffer {
  const t = typeof time === 'string' ? time : time.toISOString();
  return Buffer.concat([Buffer.from(`${t} ${stream} ${partial ? 'P' : 'F'} `), Buffer.isBuffer(content) ? content : Buffer.from(content), Buffer.from('\n')]);
}
