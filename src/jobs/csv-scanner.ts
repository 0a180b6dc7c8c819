/**
 * Splitting one CSV record into fields, RFC 4180: an unquoted record hands its fields to the
 * consumer as offsets into the text; quoted fields (with "" escapes, delimiters and newlines
 * inside) are unescaped into strings. Records are found on the bytes by csv-bytes.ts (jobs) and
 * asset-analyzer.ts (uploads); test/jobs/csv-scanner.reference.ts is the same rules over text.
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
