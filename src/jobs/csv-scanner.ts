/**
 * An incremental RFC 4180 CSV reader over text pieces: records are found with indexOf, and an
 * unquoted record hands its fields to the consumer as offsets into the text. Quoted fields (with
 * "" escapes, delimiters and newlines inside) are unescaped into strings. CRLF and LF both end a
 * record; blank lines are skipped. A record longer than `maxRecordChars` is skipped whole (memory
 * stays bounded whatever the file holds) and reported to `onError` with its line number.
 *
 * Jobs and uploads find records on the bytes instead (csv-bytes.ts, the same rules without
 * decoding) and split them with CsvSplitter below; CsvScanner is the text form of those rules,
 * which test/jobs/csv-bytes.test.ts checks the byte reader against.
 */

/** One record, valid only during the onRecord call (its arrays are reused). */
export interface CsvRecord {
  /** The text the offsets point into. */
  text: string;
  /** Number of fields. */
  count: number;
  starts: Int32Array;
  ends: Int32Array;
  /** The unescaped value of field i when it was quoted, else undefined (read text[starts[i], ends[i])). */
  quoted: (string | undefined)[] | null;
  /** 1-based line on which the record starts. */
  line: number;
}

export interface CsvScannerOptions {
  delimiter: string;
  quote: string;
  maxRecordChars: number;
  /** At most this many fields are kept per record (more are counted, not stored). */
  maxFields?: number;
  onRecord: (record: CsvRecord) => void;
  /** A record that could not be read (too long); the scan goes on with the next one. */
  onError: (line: number, reason: string) => void;
}

const CR = 13;

export class CsvScanner {
  private buf = '';
  /** Where the current (incomplete) record starts in buf, and how far its end search got. */
  private recStart = 0;
  private pos = 0;
  private inQuote = false;
  private sawQuote = false;
  /** Skipping an over-long record: its bytes are dropped until its end is found. */
  private skipping = false;
  private skipNewlines = 0;
  private line = 1;
  /** Cached position of the next quote at or after pos (-1: none in buf; -2: unknown). */
  private nextQuote = -2;
  private readonly splitter: CsvSplitter;
  private readonly quote: number;

  constructor(private readonly options: CsvScannerOptions) {
    this.quote = options.quote.charCodeAt(0);
    this.splitter = new CsvSplitter(options.delimiter, options.quote, options.maxFields);
  }

  push(text: string): void {
    if (this.recStart > 0) {
      this.buf = this.buf.slice(this.recStart);
      this.pos -= this.recStart;
      if (this.nextQuote >= 0) this.nextQuote -= this.recStart;
      this.recStart = 0;
    }
    // "No quote in the text" no longer holds once more text arrives.
    if (this.nextQuote === -1) this.nextQuote = -2;
    this.buf = this.buf.length === 0 ? text : this.buf + text;
    this.scan(false);
  }

  /** No more text: the last record may lack its newline. */
  end(): void {
    this.scan(true);
    this.buf = '';
    this.recStart = 0;
    this.pos = 0;
  }

  private scan(final: boolean): void {
    const buf = this.buf;
    const q = this.options.quote;
    const n = buf.length;
    for (;;) {
      // Find the end of the record starting at recStart, resuming at pos.
      let end = -1;
      let pos = this.pos;
      while (pos < n) {
        if (this.inQuote) {
          const at = buf.indexOf(q, pos);
          if (at < 0) {
            pos = n;
            break;
          }
          if (at + 1 >= n && !final) {
            pos = at; // "..." or "" at the very end of the piece: decide when more text comes
            break;
          }
          if (buf.charCodeAt(at + 1) === this.quote) pos = at + 2;
          else {
            this.inQuote = false;
            pos = at + 1;
          }
          continue;
        }
        if (this.nextQuote === -2 || (this.nextQuote >= 0 && this.nextQuote < pos)) this.nextQuote = buf.indexOf(q, pos);
        const nl = buf.indexOf('\n', pos);
        if (this.nextQuote >= 0 && (nl < 0 || this.nextQuote < nl)) {
          this.inQuote = true;
          this.sawQuote = true;
          pos = this.nextQuote + 1;
          this.nextQuote = -2;
          continue;
        }
        if (nl < 0) {
          pos = n;
          break;
        }
        end = nl;
        pos = nl + 1;
        break;
      }
      if (end < 0 && !(final && pos >= n && this.recStart < n)) {
        // Incomplete: keep what we have unless the record is already too long.
        this.pos = pos;
        if (!this.skipping && pos - this.recStart > this.options.maxRecordChars) this.skipping = true;
        if (this.skipping) this.dropSkipped();
        if (final) this.finishSkipped();
        return;
      }
      const recEnd = end < 0 ? n : end;
      this.pos = pos;
      if (this.skipping || recEnd - this.recStart > this.options.maxRecordChars) {
        this.skipping = true;
        this.countSkippedNewlines(this.recStart, recEnd);
        this.finishSkipped();
        this.recStart = pos;
      } else {
        this.emit(buf, this.recStart, recEnd);
        this.recStart = pos;
      }
      this.inQuote = false;
      this.sawQuote = false;
      if (end < 0) return;
    }
  }

  private countSkippedNewlines(from: number, to: number): void {
    for (let i = this.buf.indexOf('\n', from); i >= 0 && i < to; i = this.buf.indexOf('\n', i + 1)) this.skipNewlines++;
  }

  /** Drops the skipped record's text read so far, keeping the scan state. */
  private dropSkipped(): void {
    this.countSkippedNewlines(this.recStart, this.pos);
    this.buf = this.buf.slice(this.pos);
    this.recStart = 0;
    this.pos = 0;
    this.nextQuote = -2;
  }

  private finishSkipped(): void {
    if (!this.skipping) return;
    const line = this.line;
    this.line += this.skipNewlines + 1;
    this.skipping = false;
    this.skipNewlines = 0;
    this.options.onError(line, `the row is longer than the limit of ${this.options.maxRecordChars} characters (a cell this large cannot be scored): skipped`);
  }

  private emit(buf: string, start: number, end: number): void {
    const line = this.line;
    let stop = end;
    if (stop > start && buf.charCodeAt(stop - 1) === CR) stop--;
    if (!this.sawQuote) {
      this.line++;
      if (stop === start) return; // blank line
      this.options.onRecord(this.splitter.plain(buf, start, stop, line));
    } else {
      for (let i = buf.indexOf('\n', start); i >= 0 && i < end; i = buf.indexOf('\n', i + 1)) this.line++;
      this.line++;
      this.options.onRecord(this.splitter.quoted(buf, start, stop, line));
    }
  }
}

/**
 * Splits one record's text (without its line break) into fields: `plain` when the record holds
 * no quote character, `quoted` otherwise (fields in quotes are unescaped). The record it returns
 * is reused by the next call.
 */
export class CsvSplitter {
  private readonly record: CsvRecord;
  private readonly quote: number;
  private readonly maxFields: number;

  constructor(
    private readonly delimiter: string,
    private readonly quoteChar: string,
    maxFields?: number,
  ) {
    this.quote = quoteChar.charCodeAt(0);
    this.maxFields = maxFields ?? 100_000;
    const cap = Math.min(this.maxFields, 1024);
    this.record = { text: '', count: 0, starts: new Int32Array(cap), ends: new Int32Array(cap), quoted: null, line: 1 };
  }

  private grow(): void {
    const r = this.record;
    const size = r.starts.length * 2;
    const starts = new Int32Array(size);
    const ends = new Int32Array(size);
    starts.set(r.starts);
    ends.set(r.ends);
    r.starts = starts;
    r.ends = ends;
  }

  plain(buf: string, start: number, stop: number, line: number): CsvRecord {
    const r = this.record;
    const d = this.delimiter;
    let count = 0;
    let s = start;
    for (;;) {
      let e = buf.indexOf(d, s);
      if (e < 0 || e > stop) e = stop;
      if (count < this.maxFields) {
        if (count >= r.starts.length) this.grow();
        r.starts[count] = s;
        r.ends[count] = e;
      }
      count++;
      if (e >= stop) break;
      s = e + 1;
    }
    r.text = buf;
    r.count = count;
    r.quoted = null;
    r.line = line;
    return r;
  }

  quoted(buf: string, start: number, stop: number, line: number): CsvRecord {
    const r = this.record;
    const quoted: (string | undefined)[] = [];
    let count = 0;
    let i = start;
    for (;;) {
      let value: string | undefined;
      const s = i;
      let e: number;
      if (i < stop && buf.charCodeAt(i) === this.quote) {
        // A quoted field: up to the closing quote, "" standing for one quote.
        let out = '';
        let from = i + 1;
        for (;;) {
          const at = buf.indexOf(this.quoteChar, from);
          if (at < 0 || at >= stop) {
            out += buf.slice(from, stop);
            i = stop;
            break;
          }
          out += buf.slice(from, at);
          if (buf.charCodeAt(at + 1) === this.quote && at + 1 < stop) {
            out += this.quoteChar;
            from = at + 2;
            continue;
          }
          i = at + 1;
          break;
        }
        // Text between the closing quote and the delimiter is kept, as csv-parse's relax_quotes would.
        let next = buf.indexOf(this.delimiter, i);
        if (next < 0 || next > stop) next = stop;
        if (next > i) out += buf.slice(i, next);
        value = out;
        e = next;
        i = next;
      } else {
        let next = buf.indexOf(this.delimiter, i);
        if (next < 0 || next > stop) next = stop;
        // A quote inside an unquoted field is kept as a character.
        e = next;
        i = next;
      }
      if (count < this.maxFields) {
        if (count >= r.starts.length) this.grow();
        r.starts[count] = s;
        r.ends[count] = e;
        quoted[count] = value;
      }
      count++;
      if (i >= stop) break;
      i++; // past the delimiter
      if (i === stop) {
        // A trailing delimiter: one more, empty field.
        if (count < this.maxFields) {
          if (count >= r.starts.length) this.grow();
          r.starts[count] = stop;
          r.ends[count] = stop;
          quoted[count] = undefined;
        }
        count++;
        break;
      }
    }
    r.text = buf;
    r.count = count;
    r.quoted = quoted;
    r.line = line;
    return r;
  }
}

/** Field i of a record as a string (quoted fields unescaped). */
export function fieldText(r: CsvRecord, i: number): string {
  const q = r.quoted?.[i];
  return q !== undefined ? q : r.text.slice(r.starts[i], r.ends[i]);
}
