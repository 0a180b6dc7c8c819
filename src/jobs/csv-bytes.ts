/**
 * The job worker's CSV reader: RFC 4180 record finding done on the UTF-8
 * bytes themselves, so the common record (plain numeric cells) is never decoded into a string:
 * the worker parses its cells straight from the bytes into the feature matrix. A record is
 * handed over as a byte range, with a flag saying whether it holds a quote character (such a
 * record, or one the fast parse declines, is decoded and split by CsvSplitter). The rules
 * (test/jobs/csv-scanner.reference.ts states them on text): RFC 4180 quoting, CRLF or LF, blank lines
 * skipped, line numbers counted across quoted line breaks, a record longer than
 * `maxRecordChars` characters skipped whole (its bytes dropped as they come) and reported.
 *
 * The bytes are checked to be UTF-8 as they arrive (a sequence cut at the end of a piece is
 * checked with the next piece); a leading byte order mark is dropped, as TextDecoder would.
 * Memory: the bytes of the record being read and of one piece of input.
 */
import { isUtf8 } from 'node:buffer';
import { PlinthError } from '../core/errors.js';

export interface CsvByteReaderOptions {
  /** One ASCII character each. */
  delimiter: string;
  quote: string;
  maxRecordChars: number;
  /** A record: bytes [start, end) of `bytes`, without its line break; valid during the call only. */
  onRecord: (bytes: Buffer, start: number, end: number, line: number, quoted: boolean) => void;
  onError: (line: number, reason: string) => void;
}

const LF = 10;
const CR = 13;

/** UTF-16 length of UTF-8 bytes (what String.length would say once decoded). */
function utf16Length(bytes: Uint8Array, start: number, end: number): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if ((b & 0xc0) !== 0x80) n += b >= 0xf0 ? 2 : 1;
  }
  return n;
}

export class CsvByteReader {
  private buf = Buffer.allocUnsafeSlow(1 << 17);
  /** Bytes held; [0, checked) are valid UTF-8 ending on a character boundary. */
  private len = 0;
  private checked = 0;
  private recStart = 0;
  private pos = 0;
  private inQuote = false;
  private sawQuote = false;
  private skipping = false;
  private skipNewlines = 0;
  private line = 1;
  /** Cached position of the next quote at or after pos (-1: none before `checked`; -2: unknown). */
  private nextQuote = -2;
  private started = false;
  private readonly quote: number;
  private readonly delimiter: number;

  constructor(private readonly options: CsvByteReaderOptions) {
    this.quote = options.quote.charCodeAt(0);
    this.delimiter = options.delimiter.charCodeAt(0);
    if (this.quote > 0x7f || this.delimiter > 0x7f) throw new Error('the delimiter and the quote must be ASCII characters');
  }

  push(chunk: Uint8Array): void {
    this.compact();
    if (this.len + chunk.byteLength > this.buf.byteLength) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.buf.byteLength * 2, this.len + chunk.byteLength));
      this.buf.copy(grown, 0, 0, this.len);
      this.buf = grown;
    }
    this.buf.set(chunk, this.len);
    this.len += chunk.byteLength;
    this.check(false);
    // "No quote in the bytes" no longer holds once more bytes are checked.
    if (this.nextQuote === -1) this.nextQuote = -2;
    this.scan(false);
  }

  /** No more bytes: the last record may lack its line break. */
  end(): void {
    this.check(true);
    this.scan(true);
    this.len = this.checked = this.recStart = this.pos = 0;
  }

  /** Moves the unread bytes to the front. */
  private compact(): void {
    const shift = this.recStart;
    if (shift === 0) return;
    this.buf.copy(this.buf, 0, shift, this.len);
    this.len -= shift;
    this.checked -= shift;
    this.pos -= shift;
    if (this.nextQuote >= 0) this.nextQuote -= shift;
    this.recStart = 0;
  }

  /** Checks the new bytes are UTF-8, up to the last complete character (all of them at the end). */
  private check(final: boolean): void {
    let cut = this.len;
    if (!final) {
      // Up to 3 trailing bytes of a sequence the next piece completes.
      for (let k = 1; k <= 3 && k <= this.len - this.checked; k++) {
        const b = this.buf[this.len - k]!;
        if ((b & 0xc0) === 0x80) continue;
        const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
        if (need > k) cut = this.len - k;
        break;
      }
    }
    if (cut > this.checked && !isUtf8(this.buf.subarray(this.checked, cut))) {
      throw new PlinthError('INVALID_INPUT', final && this.isCutSequence(cut) ? 'the input is not valid UTF-8 (it ends inside a character)' : 'the input is not valid UTF-8');
    }
    // The first checked bytes say whether the input starts with a byte order mark (EF BB BF is
    // one character: checked as a whole or not at all).
    if (!this.started && cut > 0) {
      this.started = true;
      if (cut >= 3 && this.buf[0] === 0xef && this.buf[1] === 0xbb && this.buf[2] === 0xbf) this.recStart = this.pos = 3;
    }
    this.checked = cut;
  }

  /** Whether the bytes before `cut` end with the start of a sequence and nothing else is wrong. */
  private isCutSequence(cut: number): boolean {
    for (let k = 1; k <= 3 && k <= cut - this.checked; k++) {
      const b = this.buf[cut - k]!;
      if ((b & 0xc0) === 0x80) continue;
      const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      return need > k && isUtf8(this.buf.subarray(this.checked, cut - k));
    }
    return false;
  }

  private scan(final: boolean): void {
    const buf = this.buf;
    const q = this.quote;
    const n = this.checked;
    for (;;) {
      let end = -1;
      let pos = this.pos;
      while (pos < n) {
        if (this.inQuote) {
          const at = buf.indexOf(q, pos);
          if (at < 0 || at >= n) {
            pos = n;
            break;
          }
          if (at + 1 >= n && !final) {
            pos = at; // '"' or '""' at the very end: decide when more bytes come
            break;
          }
          if (buf[at + 1] === q) pos = at + 2;
          else {
            this.inQuote = false;
            pos = at + 1;
          }
          continue;
        }
        if (this.nextQuote === -2 || (this.nextQuote >= 0 && this.nextQuote < pos)) {
          const at = buf.indexOf(q, pos);
          this.nextQuote = at >= 0 && at < n ? at : -1;
        }
        let nl = buf.indexOf(LF, pos);
        if (nl >= n) nl = -1;
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
        // Incomplete: keep it unless it is already too long.
        this.pos = pos;
        // Bytes are at least as many as characters: count characters only past the limit in bytes.
        if (!this.skipping && pos - this.recStart > this.options.maxRecordChars && utf16Length(buf, this.recStart, pos) > this.options.maxRecordChars) {
          this.skipping = true;
        }
        if (this.skipping) this.dropSkipped();
        if (final) this.finishSkipped();
        return;
      }
      const recEnd = end < 0 ? n : end;
      this.pos = pos;
      if (this.skipping || (recEnd - this.recStart > this.options.maxRecordChars && utf16Length(buf, this.recStart, recEnd) > this.options.maxRecordChars)) {
        this.skipping = true;
        this.countSkippedNewlines(this.recStart, recEnd);
        this.finishSkipped();
        this.recStart = pos;
      } else {
        this.emit(this.recStart, recEnd);
        this.recStart = pos;
      }
      this.inQuote = false;
      this.sawQuote = false;
      if (end < 0) return;
    }
  }

  private countSkippedNewlines(from: number, to: number): void {
    for (let i = this.buf.indexOf(LF, from); i >= 0 && i < to; i = this.buf.indexOf(LF, i + 1)) this.skipNewlines++;
  }

  /** Drops the skipped record's bytes read so far, keeping the scan state. */
  private dropSkipped(): void {
    this.countSkippedNewlines(this.recStart, this.pos);
    this.recStart = this.pos;
    this.compact();
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

  private emit(start: number, end: number): void {
    const line = this.line;
    let stop = end;
    if (stop > start && this.buf[stop - 1] === CR) stop--;
    if (!this.sawQuote) {
      this.line++;
      if (stop === start) return; // blank line
      this.options.onRecord(this.buf, start, stop, line, false);
    } else {
      this.countNewlines(start, end);
      this.line++;
      this.options.onRecord(this.buf, start, stop, line, true);
    }
  }

  private countNewlines(from: number, to: number): void {
    for (let i = this.buf.indexOf(LF, from); i >= 0 && i < to; i = this.buf.indexOf(LF, i + 1)) this.line++;
  }
}
