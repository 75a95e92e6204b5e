// Splits a chunked watch response into newline-delimited JSON events without re-joining the
// whole stream: bytes stay in Buffers until a line is complete, and each line is decoded once.
// Working on bytes (not strings) keeps multi-byte UTF-8 characters intact across chunk boundaries.

const NEWLINE = 0x0a;

export class LineDecoder {
  /** Bytes of an incomplete line carried over from earlier chunks. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly onLine: (line: string) => void) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      if (nl < 0) break;
      if (this.pendingBytes > 0) {
        this.pending.push(chunk.subarray(start, nl));
        const line = Buffer.concat(this.pending, this.pendingBytes + nl - start).toString('utf8');
        this.pending = [];
        this.pendingBytes = 0;
        this.emit(line);
      } else if (nl > start) {
        this.emit(chunk.toString('utf8', start, nl));
      }
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.pending.push(start === 0 ? chunk : chunk.subarray(start));
      this.pendingBytes += chunk.length - start;
    }
  }

  /** Flushes a final line that had no trailing newline. */
  end(): void {
    if (this.pendingBytes === 0) return;
    const line = Buffer.concat(this.pending, this.pendingBytes).toString('utf8');
    this.pending = [];
    this.pendingBytes = 0;
    this.emit(line);
  }

  private emit(line: string): void {
    // Tolerate blank lines and CRLF framing.
    if (line.length === 0 || (line.length === 1 && line === '\r')) return;
    this.onLine(line);
  }
}
