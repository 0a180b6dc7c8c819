import type { CsvDialect } from '../storage/job-ports.js';

const DELIMITERS = [',', ';', '\t', '|'] as const;
const QUOTES = ['"', "'"] as const;

/** Splits the first lines of a sample outside quotes, counting delimiters per line. */
function countsPerLine(sample: string, delimiter: string, quote: string, maxLines: number): number[] {
  const counts: number[] = [];
  let count = 0;
  let inQuote = false;
  for (let i = 0; i < sample.length && counts.length < maxLines; i++) {
    const c = sample[i];
    if (c === quote) {
      if (inQuote && sample[i + 1] === quote) i++;
      else inQuote = !inQuote;
    } else if (!inQuote && c === delimiter) count++;
    else if (!inQuote && c === '\n') {
      counts.push(count);
      count = 0;
    }
  }
  // The last line counts only when it is complete (the sample may end mid-line).
  return counts;
}

/** How often a quote character opens a field right after a delimiter or a line start. */
function quoteScore(sample: string, delimiter: string, quote: string): number {
  let score = 0;
  for (let i = 0; i < sample.length; i++) {
    if (sample[i] !== quote) continue;
    const before = i === 0 ? '\n' : sample[i - 1];
    if (before === delimiter || before === '\n') score++;
  }
  return score;
}

/**
 * The delimiter and quote of a CSV file from its first bytes: the delimiter that splits the
 * first lines into the same number of fields (more than one), ',' when none does; the quote that
 * opens fields, '"' unless only "'" does. `sample` is text, its BOM already removed.
 */
export function detectDialect(sample: string, bom: boolean): CsvDialect {
  const lines = sample.includes('\n') ? sample : `${sample}\n`;
  const quote = QUOTES.map((q) => ({ q, score: quoteScore(lines, ',', q) + quoteScore(lines, ';', q) + quoteScore(lines, '\t', q) }))
    .sort((a, b) => b.score - a.score)[0]!;
  const chosenQuote = quote.score > 0 && quote.q === "'" && quoteScore(lines, ',', '"') === 0 ? "'" : '"';
  let best: { delimiter: string; score: number } = { delimiter: ',', score: -1 };
  for (const delimiter of DELIMITERS) {
    const counts = countsPerLine(lines, delimiter, chosenQuote, 20);
    if (counts.length === 0 || counts[0] === 0) continue;
    const consistent = counts.filter((c) => c === counts[0]).length / counts.length;
    const score = consistent * 1000 + counts[0]!;
    if (score > best.score) best = { delimiter, score };
  }
  return { delimiter: best.delimiter, quote: chosenQuote, bom };
}
