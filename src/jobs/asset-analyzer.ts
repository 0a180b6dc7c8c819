import { StringDecoder } from 'node:string_decoder';
import { isUtf8 } from 'node:buffer';
import { invalidInput, PlinthError, printable } from '../core/errors.js';
import type { CsvDialect, DataFormat } from '../storage/job-ports.js';
import { detectDialect } from './csv-dialect.js';
import { CsvByteReader } from './csv-bytes.js';
import { CsvSplitter, fieldText } from './csv-scanner.js';
import { JsonArrayReader, NdjsonReader } from './json-readers.js';
import { firstInvalidUtf8 } from './utf8.js';

export interface AssetFacts {
  format: DataFormat;
  dialect: CsvDialect | null;
  columns: string[] | null;
  /** Data rows: the CSV header excluded, blank lines skipped. */
  rowCount: number;
}

const SNIFF_CHARS = 64 * 1024;
const MAX_COLUMNS = 10_000;
const COLUMN_NAME_MAX = 200;

/** The format a file name says, if it says one. */
export function formatFromName(filename: string): DataFormat | undefined {
  const lower = filename.toLowerCase();
  if (/\.(csv|tsv|txt)$/.test(lower)) return 'csv';
  if (/\.(ndjson|jsonl)$/.test(lower)) return 'ndjson';
  if (/\.json$/.test(lower)) return 'json';
  return undefined;
}

/** Checks a CSV header: names present, unique, of sane length (trimmed). */
export function checkHeader(columns: string[]): string[] {
  if (columns.length > MAX_COLUMNS) throw invalidInput(`the header has ${columns.length} columns; at most ${MAX_COLUMNS} are supported`);
  const names = columns.map((c) => c.trim());
  const seen = new Set<string>();
  names.forEach((name, i) => {
    if (name === '') throw invalidInput(`header column ${i + 1} has no name: the first row must name every column`);
    if (name.length > COLUMN_NAME_MAX) throw invalidInput(`header column ${i + 1} is longer than ${COLUMN_NAME_MAX} characters`);
    if (seen.has(name)) throw invalidInput(`header column '${printable(name, 60)}' appears twice`);
    seen.add(name);
  });
  return names;
}

/**
 * Learns what an uploaded data file holds while its bytes stream past on the way to the blob
 * store, keeping only a small sample: the format (from the name, else the first character), for
 * CSV the delimiter, quote, BOM and header, the number of rows, and that it is valid UTF-8
 * (refused with the line of the first bad byte otherwise). Nothing here keeps the file.
 */
export class AssetAnalyzer {
  private bytes = 0;
  private newlines = 0;
  private carry: Buffer = Buffer.alloc(0);
  private readonly decoder = new StringDecoder('utf8');
  private sample = '';
  private started = false;
  private format: DataFormat | undefined;
  private dialect: CsvDialect | null = null;
  private bom = false;
  private columns: string[] | null = null;
  private rows = 0;
  private firstLine = true;
  /** JSON formats: records are found in the decoded text. */
  private reader: { push(text: string): void; end(): void } | undefined;
  /** CSV: records are counted on the bytes, nothing decoded past the sample (no garbage per row on the server's event loop). */
  private csv: CsvByteReader | undefined;
  /** The bytes of the sample, fed to the CSV reader once the dialect is known. */
  private sampleBytes: Uint8Array[] = [];

  constructor(filename: string, private readonly maxRecordChars: number, format?: DataFormat) {
    this.format = format ?? formatFromName(filename);
  }

  update(chunk: Uint8Array): void {
    this.checkUtf8(chunk);
    this.bytes += chunk.byteLength;
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) this.newlines++;
    if (this.csv) {
      this.csv.push(bytes);
      return;
    }
    let text = this.decoder.write(bytes);
    if (!this.started) {
      this.sampleBytes.push(bytes);
      if (this.firstLine && text.length > 0) {
        if (text.charCodeAt(0) === 0xfeff) {
          this.bom = true;
          text = text.slice(1);
        }
        this.firstLine = false;
      }
      this.sample += text;
      if (this.sample.length < SNIFF_CHARS) return;
      this.begin();
      return;
    }
    this.feed(text);
  }

  finish(): AssetFacts {
    if (this.carry.length > 0) throw this.notUtf8(this.bytes - this.carry.length);
    // CSV past the sample: the decoder only holds the end of the sample, which the CSV reader has as bytes.
    const rest = this.csv ? '' : this.decoder.end();
    if (!this.started) {
      this.sample += rest;
      if (this.bytes === 0 || this.sample.trim() === '') throw invalidInput('the file is empty');
      this.begin();
    } else if (rest) this.feed(rest);
    try {
      if (this.csv) this.csv.end();
      else this.reader!.end();
    } catch (err) {
      if (err instanceof PlinthError) throw err;
      throw invalidInput(`the file is not a valid ${this.format} data file: ${(err as Error).message}`);
    }
    if (this.format === 'csv' && this.columns === null) throw invalidInput('the CSV file has no header row');
    return { format: this.format!, dialect: this.dialect, columns: this.columns, rowCount: this.rows };
  }

  private begin(): void {
    this.started = true;
    const first = this.sample.trimStart()[0];
    this.format ??= first === '[' ? 'json' : first === '{' ? 'ndjson' : 'csv';
    const onError = () => {
      this.rows++;
    };
    if (this.format === 'csv') {
      const dialect = detectDialect(this.sample.slice(0, SNIFF_CHARS), this.bom);
      this.dialect = dialect;
      const splitter = new CsvSplitter(dialect.delimiter, dialect.quote, MAX_COLUMNS + 1);
      this.csv = new CsvByteReader({
        delimiter: dialect.delimiter,
        quote: dialect.quote,
        maxRecordChars: this.maxRecordChars,
        onRecord: (bytes, start, end, line, quoted) => {
          if (this.columns !== null) {
            this.rows++;
            return;
          }
          // The header, split by CsvSplitter as every record is.
          const text = bytes.toString('utf8', start, end);
          const r = quoted ? splitter.quoted(text, 0, text.length, line) : splitter.plain(text, 0, text.length, line);
          const names: string[] = [];
          for (let i = 0; i < Math.min(r.count, MAX_COLUMNS + 1); i++) names.push(fieldText(r, i));
          this.columns = checkHeader(names);
        },
        onError: (line) => {
          if (this.columns === null) throw invalidInput(`the header row (line ${line}) is longer than ${this.maxRecordChars} characters`);
          this.rows++;
        },
      });
      // The sample's bytes (a byte order mark included: the reader drops it).
      const sample = this.sampleBytes;
      this.sampleBytes = [];
      this.sample = '';
      for (const bytes of sample) this.csv.push(bytes);
      return;
    } else if (this.format === 'ndjson') {
      this.reader = new NdjsonReader({ maxRecordChars: this.maxRecordChars, onRecord: (value, line) => this.firstRecord(value, line), onError });
    } else {
      const reader = new JsonArrayReader({ maxRecordChars: this.maxRecordChars, onRecord: (value, line) => this.firstRecord(value, line), onError });
      this.reader = {
        push: (text) => {
          try {
            reader.push(text);
          } catch (err) {
            throw invalidInput(`the file is not a valid JSON data file: ${(err as Error).message}`);
          }
        },
        end: () => reader.end(),
      };
    }
    const sample = this.sample;
    this.sample = '';
    this.sampleBytes = [];
    this.feed(sample);
  }

  /** Records are parsed only until the first gives the column names; the rest are counted. */
  private firstRecord(value: unknown, _line: number): void {
    this.rows++;
    if (this.columns === null && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      this.columns = Object.keys(value).slice(0, MAX_COLUMNS);
    }
  }

  private feed(text: string): void {
    this.reader!.push(text);
  }

  /** Valid UTF-8 across chunk boundaries: a sequence cut at the end is checked with the next chunk. */
  private checkUtf8(chunk: Uint8Array): void {
    const joined = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const base = this.bytes - this.carry.length;
    // Keep up to 3 trailing bytes of an incomplete sequence for the next chunk.
    let cut = joined.length;
    for (let k = 1; k <= 3 && k <= joined.length; k++) {
      const b = joined[joined.length - k]!;
      if ((b & 0xc0) === 0x80) continue;
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      if (need > k) cut = joined.length - k;
      break;
    }
    const whole = joined.subarray(0, cut);
    if (!isUtf8(whole)) {
      const at = firstInvalidUtf8(whole);
      throw this.notUtf8(base + Math.max(0, at), whole.subarray(0, Math.max(0, at)));
    }
    this.carry = Buffer.from(joined.subarray(cut));
  }

  private notUtf8(offset: number, before?: Uint8Array): Error {
    let line = this.newlines + 1;
    if (before) for (let i = before.indexOf(10); i >= 0; i = before.indexOf(10, i + 1)) line++;
    return invalidInput(`the file is not valid UTF-8: line ${line} has an invalid byte sequence at byte ${offset}; save the file as UTF-8 and upload it again`);
  }
}
