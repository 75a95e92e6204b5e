import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import { adler32, SPDY3_DICTIONARY } from '../../../src/apiserver/streaming/spdy/dictionary.js';
import { dataFrameHeader, FrameReader, FrameType, goAwayFrame, HeaderBlockWriter, pingFrame, rstStreamFrame, synStreamFrame } from '../../../src/apiserver/streaming/spdy/frames.js';

describe('SPDY/3.1 frames', () => {
  it('the dictionary is the SPDY/3 one: 1423 bytes, DICTID 0xe3c6a7c2 (what zlib puts in the stream header)', () => {
    assert.equal(SPDY3_DICTIONARY.length, 1423);
    assert.equal(adler32(SPDY3_DICTIONARY), 0xe3c6a7c2);
    const z = zlib.deflateSync(Buffer.from('x'), { dictionary: SPDY3_DICTIONARY });
    assert.equal(z.readUInt32BE(2), 0xe3c6a7c2);
    assert.equal(adler32(Buffer.from('Wikipedia')), 0x11e60398);
  });

  it('header blocks form one zlib stream across frames, each ending on a sync-flush block', () => {
    const w = new HeaderBlockWriter();
    const a = w.encode({ streamType: 'error' });
    const b = w.encode({ streamtype: 'data', port: '8080', requestid: '0' });
    assert.equal(a.readUInt16BE(0), 0x78f9, 'zlib header with FDICT');
    assert.ok(a.subarray(-5).equals(Buffer.from([0, 0, 0, 0xff, 0xff])));
    assert.ok(b.subarray(-5).equals(Buffer.from([0, 0, 0, 0xff, 0xff])));
    assert.notEqual(b.readUInt16BE(0), 0x78f9, 'only the first block has the zlib header');
    const raw = zlib.inflateSync(Buffer.concat([a, b]), { dictionary: SPDY3_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    const blocks = parseBlocks(raw);
    assert.deepEqual(blocks, [{ streamtype: 'error' }, { streamtype: 'data', port: '8080', requestid: '0' }]);
  });

  it('a large header block spans several stored blocks', () => {
    const w = new HeaderBlockWriter();
    const big = 'v'.repeat(70_000);
    const raw = zlib.inflateSync(w.encode({ big }), { dictionary: SPDY3_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    assert.deepEqual(parseBlocks(raw), [{ big }]);
  });

  it('encodes control and data frames; the reader splits a byte stream into frames', () => {
    const w = new HeaderBlockWriter();
    const syn = synStreamFrame(3, w.encode({ streamtype: 'stdout' }), 0, 2);
    assert.equal(syn.readUInt16BE(0), 0x8003);
    assert.equal(syn.readUInt16BE(2), FrameType.SYN_STREAM);
    assert.equal(syn.readUInt32BE(4) & 0xffffff, syn.length - 8);
    assert.equal(syn.readUInt32BE(8), 3);
    assert.equal(syn[16] >> 5, 2);
    const payload = Buffer.from('hello');
    const stream = Buffer.concat([syn, dataFrameHeader(3, 1, payload.length), payload, rstStreamFrame(5, 5), pingFrame(2), goAwayFrame(7)]);
    const r = new FrameReader();
    const frames = [];
    for (const byte of stream) frames.push(...r.push(Buffer.of(byte)));
    assert.equal(frames.length, 5);
    assert.deepEqual(frames.map((f) => (f.kind === 'data' ? `data:${f.streamId}:${f.flags}:${f.data}` : `ctl:${f.type}`)), [
      `ctl:${FrameType.SYN_STREAM}`,
      'data:3:1:hello',
      `ctl:${FrameType.RST_STREAM}`,
      `ctl:${FrameType.PING}`,
      `ctl:${FrameType.GOAWAY}`,
    ]);
    const all = r.push(Buffer.alloc(0));
    assert.equal(all.length, 0);
    assert.equal(new FrameReader().push(stream).length, 5, 'all at once');
  });
});

function parseBlocks(raw: Buffer): Record<string, string>[] {
  const out: Record<string, string>[] = [];
  let o = 0;
  while (o < raw.length) {
    const n = raw.readUInt32BE(o);
    o += 4;
    const h: Record<string, string> = {};
    for (let i = 0; i < n; i++) {
      const kl = raw.readUInt32BE(o);
      const k = raw.subarray(o + 4, o + 4 + kl).toString('latin1');
      o += 4 + kl;
      const vl = raw.readUInt32BE(o);
      h[k] = raw.subarray(o + 4, o + 4 + vl).toString('latin1');
      o += 4 + vl;
    }
    out.push(h);
  }
  return out;
}
