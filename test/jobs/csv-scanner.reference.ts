/**
 * The text form of the job reader's CSV rules (src/jobs/csv-bytes.ts finds records on the UTF-8
 * bytes instead): an incremental RFC 4180 reader over text pieces. Records are found with indexOf
 * and split with the production CsvSplitter; CRLF and LF both end a record; blank lines are
 * skipped; a record longer than `maxRecordChars` is skipped whole and reported with its line.
 * Kept here as the oracle csv-bytes.test.ts checks the byte reader against: no production code
 * reads CSV text this way.
 */
import { CsvSplitter, type CsvRecord } from '../../src/jobs/csv-scanner.js';

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
