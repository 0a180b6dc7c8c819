/**
 * Incremental readers for JSON inputs: NDJSON (one record per line) and a JSON array of records
 * (split into its top-level elements without parsing the whole document). Both parse one record
 * at a time, report a record that is not valid JSON with its line number, and skip a record
 * longer than `maxRecordChars` without keeping it in memory.
 */

export interface JsonReaderOptions {
  maxRecordChars: number;
  /** Count only: elements are delimited but not parsed (upload analysis). */
  countOnly?: boolean;
  onRecord: (value: unknown, line: number) => void;
  onError: (line: number, reason: string) => void;
}

const tooLong = (max: number) => `the row is longer than the limit of ${max} characters: skipped`;

export class NdjsonReader {
  private pending = '';
  private line = 1;
  private skipping = false;

  constructor(private readonly options: JsonReaderOptions) {}

  push(text: string): void {
    let from = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
      if (this.skipping) {
        this.skipping = false;
        this.options.onError(this.line, tooLong(this.options.maxRecordChars));
        this.pending = '';
      } else {
        this.record(this.pending + text.slice(from, nl));
        this.pending = '';
      }
      this.line++;
      from = nl + 1;
    }
    if (from < text.length && !this.skipping) {
      this.pending += text.slice(from);
      if (this.pending.length > this.options.maxRecordChars) {
        this.skipping = true;
        this.pending = '';
      }
    }
  }

  end(): void {
    if (this.skipping) this.options.onError(this.line, tooLong(this.options.maxRecordChars));
    else if (this.pending.length > 0) this.record(this.pending);
    this.pending = '';
    this.skipping = false;
  }

  private record(text: string): void {
    if (text.trim() === '') return;
    if (this.options.countOnly) return this.options.onRecord(undefined, this.line);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return this.options.onError(this.line, `not valid JSON: ${(err as Error).message.slice(0, 120)}`);
    }
    this.options.onRecord(value, this.line);
  }
}

const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const NEWLINE = 10;

/**
 * A JSON array's elements, one at a time. Depth 0 is outside the array, depth 1 between its
 * elements; an element runs from its first non-space character to the comma or bracket that
 * ends it at depth 1.
 */
export class JsonArrayReader {
  private depth = 0;
  private inString = false;
  private escaped = false;
  private started = false;
  private closed = false;
  private element = '';
  private elementLine = 0;
  private inElement = false;
  private skipping = false;
  private line = 1;

  constructor(private readonly options: JsonReaderOptions) {}

  push(text: string): void {
    let segmentStart = this.inElement && !this.skipping ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === NEWLINE) this.line++;
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        continue;
      }
      if (c === 32 || c === 9 || c === 13 || c === NEWLINE) continue;
      if (!this.started) {
        if (c !== OPEN_BRACKET) throw new Error('a .json data file must hold one array of records: [{"a": 1}, ...]');
        this.started = true;
        this.depth = 1;
        continue;
      }
      if (this.closed) throw new Error(`unexpected text after the closing ']' on line ${this.line}`);
      if (this.depth === 1 && (c === COMMA || c === CLOSE_BRACKET)) {
        if (this.inElement) {
          if (!this.skipping) this.element += text.slice(segmentStart, i);
          this.finishElement();
          segmentStart = -1;
        }
        if (c === CLOSE_BRACKET) this.closed = true;
        continue;
      }
      if (!this.inElement) {
        this.inElement = true;
        this.elementLine = this.line;
        this.element = '';
        segmentStart = i;
      }
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) this.depth++;
      else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) this.depth--;
    }
    if (this.inElement && !this.skipping) {
      this.element += text.slice(segmentStart);
      if (this.element.length > this.options.maxRecordChars) {
        this.skipping = true;
        this.element = '';
      }
    }
  }

  end(): void {
    if (!this.started) throw new Error('the file holds no JSON array');
    if (!this.closed) throw new Error("the JSON array is not closed: the file ends before its ']'");
  }

  private finishElement(): void {
    this.inElement = false;
    if (this.skipping) {
      this.skipping = false;
      this.options.onError(this.elementLine, tooLong(this.options.maxRecordChars));
      return;
    }
    const text = this.element;
    this.element = '';
    if (this.options.countOnly) return this.options.onRecord(undefined, this.elementLine);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return this.options.onError(this.elementLine, `not valid JSON: ${(err as Error).message.slice(0, 120)}`);
    }
    this.options.onRecord(value, this.elementLine);
  }
}
