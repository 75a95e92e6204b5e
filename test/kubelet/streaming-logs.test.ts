// The CRI log parser and reader: partial records joined into lines, timestamps, tail (counted
// in whole lines), since, limitBytes, stream filter, and follow (appends, truncation,
// rotation, ending when the container stops, abort).
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync, truncateSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { formatCriLogRecord, parseCriLogRecord } from '../../src/kubelet/logs/cri-log.js';
import { readCriLog, tailOffset, type FollowControl, type LogReadOptions } from '../../src/kubelet/logs/reader.js';

const dir = mkdtempSync(join(tmpdir(), 'skiff-crilog-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const T = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s, 0)).toISOString().replace('Z', '123456Z'); // 2024-01-01T00:00:0s.000123456Z
const rec = (s: number, stream: 'stdout' | 'stderr', tag: 'P' | 'F', msg: string) => formatCriLogRecord(T(s), stream, tag === 'P', msg);

function logFile(...records: Buffer[]): string {
  const p = join(dir, `log-${n++}.log`);
  writeFileSync(p, Buffer.concat(records));
  return p;
}

async function read(path: string, opts: LogReadOptions = {}, ctl?: FollowControl): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (d: Buffer) => chunks.push(d));
  await readCriLog(path, opts, out, ctl);
  return Buffer.concat(chunks).toString('utf8');
}

describe('CRI log records', () => {
  it('parses time, stream, partial tag and content (spaces and empty content kept)', () => {
    const r = parseCriLogRecord(Buffer.from('2016-10-06T00:17:09.669794202Z stdout F  two  spaces '))!;
    assert.equal(r.time, '2016-10-06T00:17:09.669794202Z');
    assert.equal(r.stream, 'stdout');
    assert.equal(r.partial, false);
    assert.equal(r.content.toString(), ' two  spaces ');
    assert.equal(r.timeMs, Date.parse('2016-10-06T00:17:09.669Z'));
    const p = parseCriLogRecord(Buffer.from('2016-10-06T00:17:09.669794202+02:00 stderr P:x part'))!;
    assert.equal(p.partial, true);
    assert.equal(p.stream, 'stderr');
    assert.equal(p.content.toString(), 'part');
    assert.equal(parseCriLogRecord(Buffer.from('2016-10-06T00:17:09Z stdout F'))!.content.length, 0);
    assert.equal(parseCriLogRecord(Buffer.from('garbage')), undefined);
    assert.equal(parseCriLogRecord(Buffer.from('2016-10-06T00:17:09Z stdin F x')), undefined);
  });
});

describe('reading CRI logs', () => {
  const lines = logFile(
    rec(1, 'stdout', 'F', 'one'),
    rec(2, 'stderr', 'F', 'two (stderr)'),
    rec(3, 'stdout', 'P', 'thr'),
    rec(3, 'stdout', 'P', 'e'),
    rec(4, 'stdout', 'F', 'e'),
    Buffer.from('not a record\n'),
    rec(5, 'stdout', 'F', 'four'),
    rec(6, 'stdout', 'F', ''),
    rec(7, 'stdout', 'P', 'unfinished'),
  );

  it('joins partial records into lines and skips malformed records', async () => {
    assert.equal(await read(lines), 'one\ntwo (stderr)\nthree\nfour\n\nunfinished');
  });

  it('prefixes each line (not each record) with its timestamp', async () => {
    assert.equal(await read(lines, { timestamps: true, tailLines: 3 }), `${T(5)} four\n${T(6)} \n${T(7)} unfinished`);
    assert.equal(
      await read(logFile(rec(3, 'stdout', 'P', 'a'), rec(4, 'stdout', 'F', 'b')), { timestamps: true }),
      `${T(3)} ab\n`,
    );
  });

  it('tails whole lines: a trailing partial run counts as one line', async () => {
    assert.equal(await read(lines, { tailLines: 1 }), 'unfinished');
    assert.equal(await read(lines, { tailLines: 2 }), '\nunfinished');
    assert.equal(await read(lines, { tailLines: 4 }), 'three\nfour\n\nunfinished');
    assert.equal(await read(lines, { tailLines: 100 }), 'one\ntwo (stderr)\nthree\nfour\n\nunfinished');
    assert.equal(await read(lines, { tailLines: 0 }), '');
    const full = logFile(rec(1, 'stdout', 'F', 'a'), rec(2, 'stdout', 'P', 'b'), rec(2, 'stdout', 'F', 'c'), rec(3, 'stdout', 'F', 'd'));
    assert.equal(await read(full, { tailLines: 2 }), 'bc\nd\n');
    assert.equal(await read(full, { tailLines: 1 }), 'd\n');
  });

  it('tails across read chunks of a large file', async () => {
    const recs: Buffer[] = [];
    for (let i = 0; i < 5000; i++) recs.push(rec(1, 'stdout', 'F', `line ${i} ${'x'.repeat(i % 50)}`));
    const big = logFile(...recs);
    const out = await read(big, { tailLines: 3 });
    assert.deepEqual(out.split('\n').map((l) => l.split(' ').slice(0, 2).join(' ')), ['line 4997', 'line 4998', 'line 4999', '']);
    const fh = await open(big, 'r');
    try {
      // 2000 lines back crosses several 64 KiB chunks.
      const off = await tailOffset(fh, 2000);
      assert.equal((await read(big, { tailLines: 2000 })).split('\n')[0].split(' ').slice(0, 2).join(' '), 'line 3000');
      assert.ok(off > 65536);
    } finally {
      await fh.close();
    }
    assert.equal((await read(big)).split('\n').length, 5001);
  });

  it('filters by since (the line start decides for its continuation records)', async () => {
    const sinceMs = Date.parse(T(3));
    assert.equal(await read(lines, { sinceMs }), 'three\nfour\n\nunfinished');
    assert.equal(await read(lines, { sinceMs: sinceMs + 1 }), 'four\n\nunfinished');
  });

  it('stops at limitBytes, mid-line if need be', async () => {
    assert.equal(await read(lines, { limitBytes: 6 }), 'one\ntw');
    assert.equal(await read(lines, { limitBytes: 4 }), 'one\n');
  });

  it('reads one stream when asked', async () => {
    assert.equal(await read(lines, { stream: 'stderr' }), 'two (stderr)\n');
  });

  it('follows appends, including records split across writes, until the container stops', async () => {
    const p = logFile(rec(1, 'stdout', 'F', 'first'));
    const out = new PassThrough();
    let got = '';
    out.on('data', (d) => (got += d));
    let running = true;
    const done = readCriLog(p, { follow: true }, out, { isRunning: async () => running, pollMs: 20, runningCheckMs: 50 });
    const until = async (s: string) => {
      const end = Date.now() + 5000;
      while (!got.endsWith(s)) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${JSON.stringify(s)}, got ${JSON.stringify(got)}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await until('first\n');
    const r2 = rec(2, 'stdout', 'F', 'second');
    appendFileSync(p, r2.subarray(0, 10)); // half a record: nothing yet
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got, 'first\n');
    appendFileSync(p, r2.subarray(10));
    await until('second\n');
    appendFileSync(p, rec(3, 'stdout', 'P', 'prompt> '));
    await until('prompt> ');
    appendFileSync(p, rec(3, 'stdout', 'F', 'answer'));
    await until('prompt> answer\n');
    // Truncation: read again from the start.
    truncateSync(p, 0);
    appendFileSync(p, rec(4, 'stdout', 'F', 'after truncate'));
    await until('after truncate\n');
    // Rotation: the old file is drained, then the new one read from its start.
    renameSync(p, `${p}.1`);
    appendFileSync(`${p}.1`, rec(5, 'stdout', 'F', 'late in old'));
    writeFileSync(p, rec(6, 'stdout', 'F', 'new file'));
    await until('late in old\nnew file\n');
    running = false;
    appendFileSync(p, rec(7, 'stdout', 'F', 'last words'));
    await done;
    assert.equal(got, 'first\nsecond\nprompt> answer\nafter truncate\nlate in old\nnew file\nlast words\n');
  });

  it('follow ends on abort', async () => {
    const p = logFile(rec(1, 'stdout', 'F', 'x'));
    const ac = new AbortController();
    const out = new PassThrough();
    out.resume();
    const done = readCriLog(p, { follow: true, tailLines: 0 }, out, { signal: ac.signal, isRunning: async () => true });
    setTimeout(() => ac.abort(), 100);
    await done;
  });
});
