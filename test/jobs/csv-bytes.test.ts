import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CsvByteReader } from '../../src/jobs/csv-bytes.js';
import { CsvSplitter, fieldText } from '../../src/jobs/csv-scanner.js';
import { CsvScanner } from './csv-scanner.reference.js';

/** A small deterministic generator (tests must not depend on Math.random). */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

type Event = string;

/** What CsvScanner makes of the text, read in the given pieces: records (line and fields) and errors. */
function viaScanner(text: string, cuts: number[], delimiter: string, quote: string, maxRecordChars: number): Event[] {
  const events: Event[] = [];
  const scanner = new CsvScanner({
    delimiter,
    quote,
    maxRecordChars,
    onRecord: (r) => events.push(`${r.line}:${JSON.stringify(Array.from({ length: r.count }, (_, i) => fieldText(r, i)))}`),
    onError: (line, reason) => events.push(`${line}!${reason}`),
  });
  const decoder = new TextDecoder();
  const bytes = Buffer.from(text, 'utf8');
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    scanner.push(decoder.decode(bytes.subarray(from, cut), { stream: true }));
    from = cut;
  }
  scanner.push(decoder.decode());
  scanner.end();
  return events;
}

/** The same through CsvByteReader on the UTF-8 bytes, records split as the job worker splits them. */
function viaBytes(text: string, cuts: number[], delimiter: string, quote: string, maxRecordChars: number): Event[] {
  const events: Event[] = [];
  const splitter = new CsvSplitter(delimiter, quote);
  const reader = new CsvByteReader({
    delimiter,
    quote,
    maxRecordChars,
    onRecord: (bytes, start, end, line, quoted) => {
      const s = bytes.toString('utf8', start, end);
      const r = quoted ? splitter.quoted(s, 0, s.length, line) : splitter.plain(s, 0, s.length, line);
      events.push(`${r.line}:${JSON.stringify(Array.from({ length: r.count }, (_, i) => fieldText(r, i)))}`);
    },
    onError: (line, reason) => events.push(`${line}!${reason}`),
  });
  const bytes = Buffer.from(text, 'utf8');
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    reader.push(bytes.subarray(from, cut));
    from = cut;
  }
  reader.end();
  return events;
}

describe('CsvByteReader (the job worker reads CSV as bytes)', () => {
  test('finds the same records, fields, line numbers and too-long rows as CsvScanner, however the bytes are cut', () => {
    const next = rng(7);
    const cells = ['1.5', '-0.25', '', 'abc', 'é€😀', '"q,uo""te"', '"multi\nline"', '"x"y', 'a"b', ' 7 ', '"', "'s'", '=cmd', '1e3'];
    for (let round = 0; round < 300; round++) {
      const [delimiter, quote] = next() < 0.7 ? [',', '"'] : next() < 0.5 ? [';', "'"] : ['\t', '"'];
      const eol = next() < 0.5 ? '\n' : '\r\n';
      const lines: string[] = [];
      const rows = 1 + Math.floor(next() * 12);
      for (let i = 0; i < rows; i++) {
        const r = next();
        if (r < 0.08) lines.push('');
        else if (r < 0.12) lines.push('z'.repeat(30 + Math.floor(next() * 60)));
        else {
          const n = 1 + Math.floor(next() * 5);
          lines.push(Array.from({ length: n }, () => cells[Math.floor(next() * cells.length)]!.replaceAll(',', delimiter).replaceAll('"', quote)).join(delimiter));
        }
      }
      let text = (next() < 0.2 ? '\ufeff' : '') + lines.join(eol) + (next() < 0.7 ? eol : '');
      if (next() < 0.1) text += `${quote}unterminated${eol}more`;
      const size = Buffer.byteLength(text);
      const cuts = Array.from({ length: Math.floor(next() * 6) }, () => Math.floor(next() * size)).sort((a, b) => a - b);
      const max = 20 + Math.floor(next() * 60);
      const expected = viaScanner(text, cuts, delimiter, quote, max);
      assert.deepEqual(viaBytes(text, cuts, delimiter, quote, max), expected, `round ${round}: ${JSON.stringify(text)} cut at ${cuts}`);
    }
  });

  test('refuses bytes that are not UTF-8, also when the input ends inside a character', () => {
    const read = (bytes: Buffer) => {
      const reader = new CsvByteReader({ delimiter: ',', quote: '"', maxRecordChars: 1000, onRecord: () => undefined, onError: () => undefined });
      reader.push(bytes.subarray(0, 3));
      reader.push(bytes.subarray(3));
      reader.end();
    };
    assert.throws(() => read(Buffer.from([0x61, 0x2c, 0x62, 0x0a, 0xff, 0x0a])), /not valid UTF-8$/);
    assert.throws(() => read(Buffer.concat([Buffer.from('a,b\n'), Buffer.from([0xe2, 0x82])])), /ends inside a character/);
    assert.doesNotThrow(() => read(Buffer.from('a,€\n€,b\n')));
  });
});
