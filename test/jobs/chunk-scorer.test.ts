import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifest } from '../../src/core/manifest.js';
import { describeModel, type ModelSchema } from '../../src/core/model-schema.js';
import { ChunkScorer } from '../../src/jobs/chunk-scorer.js';
import { CsvSplitter } from '../../src/jobs/csv-scanner.js';
import { OnnxRuntime } from '../../src/runtime/onnx/onnx.runtime.js';
import { EXAMPLES } from '../helpers/server.js';
import { breastCancer } from './jobs-http.js';

describe('ChunkScorer: the byte fast path takes a row exactly as the text path would, or leaves it to it', () => {
  let runtime: OnnxRuntime;
  let schema: ModelSchema;
  before(async () => {
    const dir = join(EXAMPLES, 'breast-cancer/1');
    runtime = await OnnxRuntime.load(join(dir, 'model.onnx'), { intraOpThreads: 1 });
    schema = describeModel(runtime.signature, runtime.graphLabels, parseManifest(readFileSync(join(dir, 'model.yaml'), 'utf8')));
  });
  after(() => runtime.dispose());

  test('same matrix values, carried cells and error lines, row by row', () => {
    const bc = breastCancer();
    // Columns in another order, one feature missing (it has a default), an id carried, an extra column.
    const columns = ['id', ...bc.features.slice(1).reverse(), 'extra'];
    const cells = (line: string) => {
      const v = line.split(',');
      return [...v.slice(1).reverse()];
    };
    const variants = ['1.5', '-0.25', '+3', '007.50', '.5', '5.', '', ' 1', '1e-3', '0x10', 'abc', '-', '.', '1.2.3', '12345678901234567', '0.000000000000000000000001', 'Infinity', '-0'];
    const rows: string[] = [];
    bc.lines.slice(0, 120).forEach((line, i) => {
      const v = cells(line);
      // Every variant in some row, in one column or another.
      if (i % 3 === 1) v[i % v.length] = variants[Math.floor(i / 3) % variants.length]!;
      let row = [`id-${i}${i % 7 === 0 ? '€' : ''}`, ...v, 'x'].join(',');
      if (i % 11 === 5) row = row.split(',').slice(0, -2).join(','); // ragged
      if (i % 13 === 6) row += ','; // a trailing delimiter
      rows.push(row);
    });
    const options = { columns, carry: ['id'], probabilities: true, format: 'csv' as const, chunkRows: 1000 };
    const viaText = new ChunkScorer(schema, runtime, options);
    const viaBytes = new ChunkScorer(schema, runtime, options);
    const splitter = new CsvSplitter(',', '"');
    let fast = 0;
    rows.forEach((row, i) => {
      const line = i + 2;
      viaText.addCsv(splitter.plain(row, 0, row.length, line), columns.length);
      const bytes = Buffer.from(row, 'utf8');
      if (viaBytes.addCsvBytes(bytes, 0, bytes.length, line, columns.length, 44)) fast++;
      else viaBytes.addCsv(splitter.plain(row, 0, row.length, line), columns.length);
    });
    const a = viaText.seal();
    const b = viaBytes.seal();
    assert.ok(fast > 20 && fast < rows.length, `${fast} of ${rows.length} rows took the fast path`);
    assert.equal(b.rows, a.rows);
    assert.deepEqual(b.errors, a.errors);
    assert.ok(a.errors.length > 5);
    assert.deepEqual(b.carry, a.carry);
    assert.deepEqual(Array.from(b.data!.subarray(0, b.rows * 30)), Array.from(a.data!.subarray(0, a.rows * 30)));
  });
});
