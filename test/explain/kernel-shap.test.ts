import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kernelShap, minimumBudget, planCoalitions, type BatchPredict } from '../../src/explain/kernel-shap.js';
import { factorRobust, luSolve } from '../../src/explain/linear-solve.js';
import { Prng } from '../../src/explain/prng.js';
import { predictRaw } from '../../src/explain/tree-ensemble.evaluator.js';
import type { Matrix } from '../../src/explain/tree-ensemble.types.js';
import { exactShapley, interventionalValue, maxAbsDiff, randomEnsemble, randomRows } from './helpers/shapley.js';

/** A model given as a function of one row, scored the way an ONNX session would be, counting calls. */
function batch(M: number, C: number, f: (row: Float32Array) => ArrayLike<number>) {
  const stats = { calls: 0, rows: 0, largest: 0 };
  const predict: BatchPredict = async (rows, n) => {
    stats.calls++;
    stats.rows += n;
    stats.largest = Math.max(stats.largest, n);
    const out = Array.from({ length: C }, () => new Float64Array(n));
    for (let i = 0; i < n; i++) {
      const y = f(rows.subarray(i * M, (i + 1) * M));
      for (let c = 0; c < C; c++) out[c]![i] = y[c]!;
    }
    return out;
  };
  return { predict, stats };
}

/** A smooth non-additive model with interactions: two outputs. */
const nonlinear = (x: Float32Array) => {
  const a = x[0]! * x[1]! + Math.sin(3 * x[2]!) + x[3]! * x[3]! - 0.5 * x[4]! * x[5]! * x[6]! + Math.exp(-x[7]!) + 0.3 * x[8]! - 0.2 * x[9]!;
  return [a, 1 / (1 + Math.exp(-a))];
};

test('exact mode (budget >= 2^M - 2) equals brute-force Shapley values: a tree ensemble and a smooth model, M up to 10', async () => {
  const e = randomEnsemble(5, { trees: 5, depth: 4, features: 8, scores: 2, allModes: true });
  const cases: [string, number, (row: Float32Array) => ArrayLike<number>][] = [
    ['trees', 8, (row) => predictRaw(e, row)],
    ['smooth', 10, nonlinear],
  ];
  for (const [name, M, f] of cases) {
    const xs = randomRows(1, 3, M);
    const bg = randomRows(2, 10, M);
    const { predict, stats } = batch(M, 2, f);
    const r = await kernelShap(xs, bg, predict, { budget: 2 ** M, seed: 1, maxRowsPerCall: 1 << 20 }, undefined);
    assert.equal(stats.calls, 1, 'every row of the explanation in one model call');
    for (let i = 0; i < xs.rows; i++) {
      const x = xs.data.subarray(i * M, (i + 1) * M);
      const exact = exactShapley(M, 2, (mask) => interventionalValue(f, 2, x, bg, mask));
      const rec = r.records[i]!;
      assert.equal(rec.exact, true);
      assert.equal(rec.coalitions, 2 ** M - 2);
      assert.ok(Math.max(...exact.map(Math.abs)) > 0.05);
      assert.ok(maxAbsDiff(rec.values, exact) < 1e-9, `${name} record ${i}: ${maxAbsDiff(rec.values, exact)}`);
    }
  }
});

test('sampled mode: local accuracy exact, close to the exact values, same seed same values, another seed other values', async () => {
  const M = 10;
  const xs = randomRows(3, 2, M);
  const bg = randomRows(4, 20, M);
  const { predict } = batch(M, 2, nonlinear);
  const run = (seed: number, budget = 400) => kernelShap(xs, bg, predict, { budget, seed, maxRowsPerCall: 1 << 20 });
  const a = await run(7);
  const b = await run(7);
  const c = await run(8);
  for (let i = 0; i < xs.rows; i++) {
    const x = xs.data.subarray(i * M, (i + 1) * M);
    const exact = exactShapley(M, 2, (mask) => interventionalValue(nonlinear, 2, x, bg, mask));
    const rec = a.records[i]!;
    assert.equal(rec.exact, false);
    assert.ok(rec.coalitions <= 400 && rec.coalitions >= 300, `${rec.coalitions}`);
    assert.deepEqual(rec.values, b.records[i]!.values);
    assert.notDeepEqual(rec.values, c.records[i]!.values);
    for (let col = 0; col < 2; col++) {
      let s = a.base[col]!;
      for (let j = 0; j < M; j++) s += rec.values[j * 2 + col]!;
      assert.ok(Math.abs(s - rec.output[col]!) < 1e-10, 'base + sum = f(x)');
    }
    const scale = Math.max(...exact.map(Math.abs));
    assert.ok(maxAbsDiff(rec.values, exact) < 0.05 * scale, `${maxAbsDiff(rec.values, exact)} vs scale ${scale}`);
  }
  // More budget, closer to the exact values.
  const big = await run(7, 1000);
  const x0 = xs.data.subarray(0, M);
  const exact0 = exactShapley(M, 2, (mask) => interventionalValue(nonlinear, 2, x0, bg, mask));
  assert.ok(maxAbsDiff(big.records[0]!.values, exact0) <= maxAbsDiff(a.records[0]!.values, exact0) + 1e-12);
});

test('batching: a small maxRowsPerCall splits the work into chunks and changes nothing', async () => {
  const M = 6;
  const e = randomEnsemble(9, { trees: 3, depth: 3, features: M });
  const xs = randomRows(5, 4, M);
  const bg = randomRows(6, 25, M);
  const one = batch(M, 1, (row) => predictRaw(e, row));
  const many = batch(M, 1, (row) => predictRaw(e, row));
  const a = await kernelShap(xs, bg, one.predict, { budget: 40, seed: 3, maxRowsPerCall: 1 << 20 });
  const b = await kernelShap(xs, bg, many.predict, { budget: 40, seed: 3, maxRowsPerCall: 300 });
  assert.equal(one.stats.calls, 1);
  assert.equal(a.modelRows, 25 + 4 * (1 + 40 * 25));
  // Chunks are filled, except that a coalition's 25 rows are kept together.
  assert.ok(b.modelCalls >= Math.ceil(b.modelRows / 300) && b.modelCalls <= Math.ceil(b.modelRows / 275) + 1, `${b.modelCalls} calls`);
  assert.ok(many.stats.largest <= 300);
  for (let i = 0; i < 4; i++) assert.ok(maxAbsDiff(a.records[i]!.values, b.records[i]!.values) < 1e-12);
  // A cached background mean saves its rows.
  const c = await kernelShap(xs, bg, one.predict, { budget: 40, seed: 3, maxRowsPerCall: 1 << 20 }, a.base);
  assert.equal(c.modelRows, a.modelRows - 25);
  assert.ok(maxAbsDiff(c.records[0]!.values, a.records[0]!.values) < 1e-12);
});

test('missingness: a feature equal to x in every background row, or ignored by the model, gets 0', async () => {
  const M = 5;
  const f = (x: Float32Array) => [x[0]! * x[1]! + x[2]!]; // x3, x4 ignored
  const xs: Matrix = { data: Float32Array.of(1, 2, 3, 4, 0.5), rows: 1, cols: M };
  const bg = randomRows(7, 10, M);
  for (let b = 0; b < bg.rows; b++) bg.data[b * M + 4] = 0.5; // x4 never differs
  const { predict } = batch(M, 1, f);
  const exact = await kernelShap(xs, bg, predict, { budget: 100, seed: 1, maxRowsPerCall: 1 << 20 });
  assert.equal(exact.records[0]!.exact, true);
  assert.equal(exact.records[0]!.values[4], 0);
  assert.ok(Math.abs(exact.records[0]!.values[3]!) < 1e-12);
  const sampled = await kernelShap(xs, bg, predict, { budget: 10, seed: 1, maxRowsPerCall: 1 << 20 });
  assert.equal(sampled.records[0]!.values[4], 0, 'not varying: exactly 0 whatever the budget');
});

test('symmetry: in exact mode, features entering the model the same way get the same value', async () => {
  const M = 6;
  const f = (x: Float32Array) => [Math.tanh(x[0]! + x[1]!) * x[2]! + x[0]! * x[1]! - x[3]!];
  const xs: Matrix = { data: Float32Array.of(0.8, 0.8, 0.5, 0.1, 0.3, 0.9), rows: 1, cols: M };
  const bg = randomRows(8, 12, M);
  // Interchangeable in the data too: x0 and x1 equal in every background row.
  for (let b = 0; b < bg.rows; b++) bg.data[b * M + 1] = bg.data[b * M]!;
  const { predict } = batch(M, 1, f);
  const r = await kernelShap(xs, bg, predict, { budget: 64, seed: 2, maxRowsPerCall: 1 << 20 });
  const v = r.records[0]!.values;
  assert.ok(Math.abs(v[0]! - v[1]!) < 1e-12);
  assert.ok(Math.abs(v[0]!) > 1e-3);
});

test('coalition plans: full sizes first, paired complements, kernel weights; exact plans carry every coalition', () => {
  const exact = planCoalitions(4, 14, new Prng(1));
  assert.equal(exact.exact, true);
  assert.equal(exact.count, 14);
  // Kernel weight (M-1) / (C(M,s) s (M-s)) for M = 4: s = 1 or 3 -> 1/4, s = 2 -> 1/8.
  for (let c = 0; c < exact.count; c++) {
    const s = exact.masks.subarray(c * 4, c * 4 + 4).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(exact.weights[c]! - (s === 2 ? 1 / 8 : 1 / 4)) < 1e-15);
  }
  const sampled = planCoalitions(12, 100, new Prng(1));
  assert.equal(sampled.exact, false);
  assert.equal(sampled.count, 100);
  // Sizes 1 and 11 (24 coalitions) are enumerated, then sampled coalitions come in complement pairs.
  const size = (c: number) => sampled.masks.subarray(c * 12, c * 12 + 12).reduce((a, b) => a + b, 0);
  assert.deepEqual(Array.from({ length: 24 }, (_, c) => size(c)).sort(), [...Array(12).fill(1), ...Array(12).fill(11)]);
  // The middle size (6 of 12) has no distinct complement size; the others come with their complement.
  let pairs = 0;
  for (let c = 24; c < 100; ) {
    if (size(c) === 6) {
      c++;
      continue;
    }
    for (let j = 0; j < 12; j++) assert.equal(sampled.masks[c * 12 + j]! + sampled.masks[(c + 1) * 12 + j]!, 1);
    pairs++;
    c += 2;
  }
  assert.ok(pairs > 10);
  assert.equal(minimumBudget(1), 0);
  assert.equal(minimumBudget(3), 6);
  assert.equal(minimumBudget(30), 62);
});

test('the linear solver: LU with partial pivoting, and a ridge for singular systems', () => {
  const A = Float64Array.of(0, 2, 1, 1, 1, 1, 2, 1, 3);
  const { LU, piv, ridge } = factorRobust(A, 3);
  assert.equal(ridge, 0);
  const x = luSolve(LU, piv, 3, [5, 6, 13]); // x = (1, 2, 3)... check by substitution
  const back = [0, 1, 2].map((i) => A[i * 3]! * x[0]! + A[i * 3 + 1]! * x[1]! + A[i * 3 + 2]! * x[2]!);
  assert.ok(maxAbsDiff(back, [5, 6, 13]) < 1e-12);
  const singular = Float64Array.of(1, 1, 1, 1);
  assert.ok(factorRobust(singular, 2).ridge > 0);
});
