/**
 * A numeric cell read in place from the text, without a string per cell. Simple decimals
 * ([+-]digits[.digits], at most 15 significant digits) take the exact fast path: the integer of
 * the digits divided by a power of ten, both exactly representable, so the division is correctly
 * rounded and equals Number() of the same text. Anything else goes through Number(), exactly as
 * the online records mapper reads a text cell. NaN means "not a finite number".
 */
export const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

export function parseNumberAt(text: string, start: number, end: number): number {
  let i = start;
  let negative = false;
  let c = text.charCodeAt(i);
  if (c === 45 || c === 43) {
    negative = c === 45;
    i++;
  }
  let mantissa = 0;
  let digits = 0;
  let fraction = 0;
  let sawDot = false;
  let any = false;
  for (; i < end; i++) {
    c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      any = true;
      if (digits > 0 || c !== 48) digits++;
      mantissa = mantissa * 10 + (c - 48);
      if (sawDot) fraction++;
    } else if (c === 46 && !sawDot) {
      sawDot = true;
    } else {
      return slow(text, start, end);
    }
  }
  if (!any || digits > 15 || fraction > 22) return slow(text, start, end);
  const value = fraction === 0 ? mantissa : mantissa / POW10[fraction]!;
  return negative ? -value : value;
}

function slow(text: string, start: number, end: number): number {
  const cell = text.slice(start, end);
  if (cell.trim() === '') return NaN;
  const n = Number(cell);
  return Number.isFinite(n) ? n : NaN;
}
