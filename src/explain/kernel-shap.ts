/**
 * Kernel SHAP (Lundberg & Lee, "A Unified Approach to Interpreting Model Predictions", NeurIPS
 * 2017) for any model: the interventional game v(S) = E_b[f(x_S, b_not S)] over a background set,
 * estimated by weighted linear regression over feature coalitions with the Shapley kernel
 * weight (M-1) / (C(M,|S|) |S| (M-|S|)), with the efficiency constraint sum phi = f(x) - E[f(b)]
 * imposed exactly (one unknown eliminated).
 *
 * Coalitions follow the shap package's KernelExplainer: coalition sizes are enumerated in full,
 * smallest and largest first (paired), while the budget allows; the rest is sampled by size
 * from the kernel's distribution with paired (complement) sampling and a seeded PRNG. When the
 * budget covers all 2^M - 2 coalitions the regression is exact: the values are the Shapley values
 * of v. Features equal to x in every background row cannot change v and get exactly 0 (M counts
 * only the others).
 *
 * Every model row of an explanation (the rows, then coalitions x background rows) is written
 * into one Float32Array and scored through `predict` in chunks of at most `maxRowsPerCall` rows,
 * so a record costs a handful of model runs, not thousands.
 */
import { factorRobust, luSolve } from './linear-solve.js';
import { Prng } from './prng.js';
import type { Matrix } from './tree-ensemble.types.js';

/**
 * Scores n rows (row-major, n x features). Returns one array of n values per output column, or
 * the outputs row-major as the model wrote them (n x columns), which saves splitting them.
 */
export type BatchPredict = (rows: Float32Array, n: number) => Promise<Float64Array[] | RowMajorOutputs>;

export interface RowMajorOutputs {
  rowMajor: Float32Array | Float64Array;
  columns: number;
  /** A single probability column p stands for [1 - p, p]. */
  complement?: boolean;
}

export interface KernelShapOptions {
  /** Coalitions per record; each costs one model row per background row. */
  budget: number;
  seed: number;
  /** Largest number of rows in one predict call. */
  maxRowsPerCall: number;
}

export interface KernelShapRecord {
  /** features x columns, row-major. */
  values: Float64Array;
  /** f(x) per column. */
  output: Float64Array;
  /** Coalitions evaluated (excluding the empty and full ones). */
  coalitions: number;
  /** All 2^M - 2 coalitions were enumerated: exact Shapley values. */
  exact: boolean;
}

export interface KernelShapResult {
  records: KernelShapRecord[];
  /** E_b[f(b)] per column. */
  base: Float64Array;
  columns: number;
  modelRows: number;
  modelCalls: number;
}

/** The smallest budget that can pin every feature of M varying ones. */
export const minimumBudget = (M: number) => (M <= 1 ? 0 : Math.min(coalitionCount(M), 2 * M + 2));
const coalitionCount = (M: number) => (M >= 52 ? Number.MAX_SAFE_INTEGER : 2 ** M - 2);

interface Plan {
  /** Indices (into the full feature list) of the varying features. */
  varying: number[];
  /** Per coalition: the varying-feature positions (0..M'-1) taken from x. */
  masks: Uint8Array;
  weights: Float64Array;
  count: number;
  exact: boolean;
}

function binomial(n: number, k: number): number {
  let c = 1;
  for (let i = 0; i < k; i++) c = (c * (n - i)) / (i + 1);
  return Math.round(c);
}

/** Calls visit(indices) for every k-subset of 0..n-1, in lexicographic order. */
function combinations(n: number, k: number, visit: (idx: Int32Array) => void): void {
  const idx = new Int32Array(k);
  for (let i = 0; i < k; i++) idx[i] = i;
  for (;;) {
    visit(idx);
    let i = k - 1;
    while (i >= 0 && idx[i] === n - k + i) i--;
    if (i < 0) return;
    idx[i]!++;
    for (let j = i + 1; j < k; j++) idx[j] = idx[j - 1]! + 1;
  }
}

class CoalitionSet {
  masks: Uint8Array;
  weights: Float64Array;
  count = 0;
  constructor(private readonly M: number, capacity: number) {
    this.masks = new Uint8Array(capacity * M);
    this.weights = new Float64Array(capacity);
  }
  add(mask: Uint8Array, w: number): number {
    if (this.count === this.weights.length) {
      const cap = this.weights.length * 2 + 8;
      const m = new Uint8Array(cap * this.M);
      m.set(this.masks);
      this.masks = m;
      const w2 = new Float64Array(cap);
      w2.set(this.weights);
      this.weights = w2;
    }
    this.masks.set(mask, this.count * this.M);
    this.weights[this.count] = w;
    return this.count++;
  }
}

/** A coalition's identity: its bits as a number (exact up to 52 features), else a string. */
function maskKey(mask: Uint8Array): number | string {
  if (mask.length > 52) return String.fromCharCode(...mask);
  let key = 0;
  for (let i = mask.length - 1; i >= 0; i--) key = key * 2 + mask[i]!;
  return key;
}

/** Coalitions and their kernel weights for M varying features within `budget` coalitions. */
export function planCoalitions(M: number, budget: number, rng: Prng): { masks: Uint8Array; weights: Float64Array; count: number; exact: boolean } {
  const total = coalitionCount(M);
  if (budget >= total) {
    const set = new CoalitionSet(M, total);
    const mask = new Uint8Array(M);
    for (let s = 1; s < M; s++) {
      const w = (M - 1) / (binomial(M, s) * s * (M - s));
      combinations(M, s, (idx) => {
        mask.fill(0);
        for (const i of idx) mask[i] = 1;
        set.add(mask, w);
      });
    }
    return { masks: set.masks, weights: set.weights, count: set.count, exact: true };
  }
  const nSizes = Math.ceil((M - 1) / 2);
  const nPaired = Math.floor((M - 1) / 2);
  const weightVector = new Float64Array(nSizes);
  for (let s = 1; s <= nSizes; s++) weightVector[s - 1] = ((M - 1) / (s * (M - s))) * (s <= nPaired ? 2 : 1);
  const sum = weightVector.reduce((a, b) => a + b, 0);
  for (let i = 0; i < nSizes; i++) weightVector[i]! /= sum;

  const set = new CoalitionSet(M, budget);
  const mask = new Uint8Array(M);
  let full = 0;
  let left = budget;
  const remaining = Float64Array.from(weightVector);
  for (let s = 1; s <= nSizes; s++) {
    const paired = s <= nPaired;
    const n = binomial(M, s) * (paired ? 2 : 1);
    if ((left * remaining[s - 1]!) / n < 1 - 1e-8) break;
    full++;
    left -= n;
    if (remaining[s - 1]! < 1) {
      const r = 1 - remaining[s - 1]!;
      for (let i = 0; i < nSizes; i++) remaining[i]! /= r;
    }
    const w = weightVector[s - 1]! / binomial(M, s) / (paired ? 2 : 1);
    combinations(M, s, (idx) => {
      mask.fill(0);
      for (const i of idx) mask[i] = 1;
      set.add(mask, w);
      if (paired) {
        for (let i = 0; i < M; i++) mask[i] = 1 - mask[i]!;
        set.add(mask, w);
      }
    });
  }
  const fixed = set.count;
  if (full < nSizes && left > 0) {
    // Sizes left to sample from, by the kernel's weight (paired sizes halved: each draw adds two).
    const probs = new Float64Array(nSizes - full);
    for (let s = full + 1; s <= nSizes; s++) probs[s - full - 1] = weightVector[s - 1]! / (s <= nPaired ? 2 : 1);
    const psum = probs.reduce((a, b) => a + b, 0);
    const cumulative = new Float64Array(probs.length);
    let acc = 0;
    probs.forEach((p, i) => (cumulative[i] = acc += p / psum));
    const seen = new Map<number | string, number>();
    const complementOf = new Map<number, number>();
    const perm = new Int32Array(M);
    let draws = 0;
    while (left > 0 && draws < 4 * budget) {
      draws++;
      const u = rng.next();
      let k = 0;
      while (k < cumulative.length - 1 && u >= cumulative[k]!) k++;
      const s = k + full + 1;
      for (let i = 0; i < M; i++) perm[i] = i;
      mask.fill(0);
      for (let i = 0; i < s; i++) {
        const j = i + rng.int(M - i);
        const t = perm[i]!;
        perm[i] = perm[j]!;
        perm[j] = t;
        mask[perm[i]!] = 1;
      }
      const key = maskKey(mask);
      const at = seen.get(key);
      const pairedSize = s <= nPaired;
      if (at === undefined) {
        const index = set.add(mask, 1);
        seen.set(key, index);
        left--;
        if (left > 0 && pairedSize) {
          for (let i = 0; i < M; i++) mask[i] = 1 - mask[i]!;
          complementOf.set(index, set.add(mask, 1));
          left--;
        }
      } else {
        set.weights[at]!++;
        const c = complementOf.get(at);
        if (c !== undefined) set.weights[c]!++;
      }
    }
    // The sampled coalitions share the kernel weight the enumerated sizes did not take.
    let weightLeft = 0;
    for (let s = full + 1; s <= nSizes; s++) weightLeft += weightVector[s - 1]!;
    let sampled = 0;
    for (let i = fixed; i < set.count; i++) sampled += set.weights[i]!;
    for (let i = fixed; i < set.count; i++) set.weights[i]! *= weightLeft / sampled;
  }
  return { masks: set.masks, weights: set.weights, count: set.count, exact: false };
}

function varyingFeatures(x: Float32Array, xOff: number, bg: Matrix): number[] {
  const out: number[] = [];
  for (let j = 0; j < bg.cols; j++) {
    const v = x[xOff + j]!;
    for (let b = 0; b < bg.rows; b++) {
      const w = bg.data[b * bg.cols + j]!;
      if (!(v === w || (Number.isNaN(v) && Number.isNaN(w)))) {
        out.push(j);
        break;
      }
    }
  }
  return out;
}

/** sums[dest[r]] += values[r] for r < n (outside the async caller, so the JIT optimises it). */
function accumulate(sums: Float64Array, dest: Int32Array, values: Float64Array, n: number): void {
  for (let r = 0; r < n; r++) sums[dest[r]!]! += values[r]!;
}

/** The same from row-major outputs. */
function accumulateRows(sums: Float64Array[], dest: Int32Array, data: Float32Array | Float64Array, n: number, C: number): void {
  for (let c = 0; c < C; c++) {
    const s = sums[c]!;
    for (let r = 0, k = c; r < n; r++, k += C) s[dest[r]!]! += data[k]!;
  }
}

/** One probability column p: sums0 gets 1 - p, sums1 gets p. */
function accumulateComplement(s0: Float64Array, s1: Float64Array, dest: Int32Array, p: Float32Array | Float64Array, n: number): void {
  for (let r = 0; r < n; r++) {
    const d = dest[r]!;
    s0[d]! += 1 - p[r]!;
    s1[d]! += p[r]!;
  }
}

/** Writes rows into fixed-size chunks and scores each full chunk, routing outputs to their sums. */
class ChunkedScorer {
  private readonly buf: Float32Array;
  /** Per row in the chunk: where its outputs go (an index into the sums array). */
  private readonly dest: Int32Array;
  private n = 0;
  calls = 0;
  rows = 0;
  columns = -1;
  sums: Float64Array[] = [];

  constructor(private readonly cols: number, private readonly capacity: number, private readonly predict: BatchPredict) {
    this.buf = new Float32Array(capacity * cols);
    this.dest = new Int32Array(capacity);
  }

  /** The next row's storage; the caller fills it. */
  async row(dest: number): Promise<Float32Array> {
    if (this.n === this.capacity) await this.flush();
    const at = this.n++;
    this.dest[at] = dest;
    return this.buf.subarray(at * this.cols, (at + 1) * this.cols);
  }

  /** Room for k more rows in the current chunk: the first row's index, or -1 when the chunk must be flushed first. */
  tryReserve(k: number): number {
    if (this.n + k > this.capacity) return -1;
    const at = this.n;
    this.n += k;
    return at;
  }

  get dests(): Int32Array {
    return this.dest;
  }

  get buffer(): Float32Array {
    return this.buf;
  }

  async flush(): Promise<void> {
    if (this.n === 0) return;
    const n = this.n;
    const out = await this.predict(this.buf.subarray(0, n * this.cols), n);
    this.calls++;
    this.rows += n;
    if (Array.isArray(out)) {
      if (this.columns < 0) this.columns = out.length;
      if (out.length !== this.columns || out.some((o) => o.length < n)) throw new Error('predict returned a different number of outputs between calls');
      for (let c = 0; c < out.length; c++) accumulate((this.sums[c] ??= new Float64Array(this.maxDest + 1)), this.dest, out[c]!, n);
    } else {
      const width = out.complement ? 2 : out.columns;
      if (this.columns < 0) this.columns = width;
      if (width !== this.columns || out.rowMajor.length < n * out.columns) throw new Error('predict returned a different number of outputs between calls');
      for (let c = 0; c < width; c++) this.sums[c] ??= new Float64Array(this.maxDest + 1);
      if (out.complement) accumulateComplement(this.sums[0]!, this.sums[1]!, this.dest, out.rowMajor, n);
      else accumulateRows(this.sums, this.dest, out.rowMajor, n, out.columns);
    }
    this.n = 0;
  }

  maxDest = 0;
}

/** xIdx: coalition c's features (returns their count nx), then every other feature from position nx. */
function coalitionIndex(p: Plan, c: number, M: number, isX: Uint8Array, varyingPos: Int32Array, xIdx: Int32Array): number {
  const Mv = p.varying.length;
  const off = c * Mv;
  let nx = 0;
  for (let j = 0; j < Mv; j++) if (p.masks[off + j]) xIdx[nx++] = p.varying[j]!;
  let rest = nx;
  for (let j = 0; j < M; j++) if (!isX[j] || !p.masks[off + varyingPos[j]!]) xIdx[rest++] = j;
  return nx;
}

/**
 * One coalition's rows from row `at` on: the background rows with the coalition's features taken
 * from x. Whichever source gives fewer cells to patch fills the block first: the background rows
 * (then the nx coalition features are written from x), or x repeated B times by doubling copies
 * (then the M - nx other features are written from the background). A plain function, so the JIT
 * optimises it (loops inside the async caller stay slow).
 */
function fillCoalition(buf: Float32Array, dests: Int32Array, at: number, dest: number, bg: Float32Array, B: number, M: number, x: Float32Array, idx: Int32Array, nx: number): void {
  const start = at * M;
  dests.fill(dest, at, at + B);
  const end = start + B * M;
  if (nx <= M - nx) {
    buf.set(bg, start);
    // Column by column: one value, a fixed stride.
    for (let k = 0; k < nx; k++) {
      const j = idx[k]!;
      const v = x[j]!;
      for (let o = start + j; o < end; o += M) buf[o] = v;
    }
    return;
  }
  buf.set(x, start);
  for (let filled = 1; filled < B; filled *= 2) {
    const n = Math.min(filled, B - filled);
    buf.copyWithin(start + filled * M, start, start + n * M);
  }
  // idx[nx..M-1] are the features outside the coalition.
  for (let k = nx; k < M; k++) {
    const j = idx[k]!;
    for (let o = start + j, ob = j; o < end; o += M, ob += M) buf[o] = bg[ob]!;
  }
}

/**
 * Kernel SHAP values of every row of `x` against `background`. `backgroundMean` (E_b[f(b)] per
 * column) is computed in the same model calls when not given.
 */
export async function kernelShap(
  x: Matrix,
  background: Matrix,
  predict: BatchPredict,
  options: KernelShapOptions,
  backgroundMean?: Float64Array,
): Promise<KernelShapResult> {
  const M = x.cols;
  const B = background.rows;
  if (background.cols !== M) throw new Error(`background rows have ${background.cols} features, the rows ${M}`);
  const rng = new Prng(options.seed);
  const plans: Plan[] = [];
  for (let i = 0; i < x.rows; i++) {
    const varying = varyingFeatures(x.data, i * M, background);
    const Mv = varying.length;
    if (Mv <= 1) {
      plans.push({ varying, masks: new Uint8Array(0), weights: new Float64Array(0), count: 0, exact: true });
      continue;
    }
    const budget = Math.max(options.budget, minimumBudget(Mv));
    plans.push({ varying, ...planCoalitions(Mv, budget, rng) });
  }
  // Destinations: [background mean] + per record [f(x), v(coalition 0..count-1)].
  const start: number[] = [];
  let dests = 1;
  for (const p of plans) {
    start.push(dests);
    dests += 1 + p.count;
  }
  const scorer = new ChunkedScorer(M, Math.max(1, options.maxRowsPerCall), predict);
  scorer.maxDest = dests - 1;
  if (!backgroundMean) {
    for (let b = 0; b < B; b++) (await scorer.row(0)).set(background.data.subarray(b * M, (b + 1) * M));
  }
  const xIdx = new Int32Array(M);
  const bgData = background.data.subarray(0, B * M);
  for (let i = 0; i < x.rows; i++) {
    const p = plans[i]!;
    const xRow = x.data.subarray(i * M, (i + 1) * M);
    (await scorer.row(start[i]!)).set(xRow);
    // Position of each feature among the varying ones (isX marks varying features).
    const isX = new Uint8Array(M);
    const varyingPos = new Int32Array(M);
    p.varying.forEach((f, k) => {
      isX[f] = 1;
      varyingPos[f] = k;
    });
    for (let c = 0; c < p.count; c++) {
      const nx = coalitionIndex(p, c, M, isX, varyingPos, xIdx);
      const dest = start[i]! + 1 + c;
      // One coalition's B rows go in together when they fit; otherwise row by row.
      if (B <= options.maxRowsPerCall) {
        let at = scorer.tryReserve(B);
        if (at < 0) {
          await scorer.flush();
          at = scorer.tryReserve(B);
        }
        fillCoalition(scorer.buffer, scorer.dests, at, dest, bgData, B, M, xRow, xIdx, nx);
      } else {
        for (let b = 0; b < B; b++) {
          const row = await scorer.row(dest);
          row.set(background.data.subarray(b * M, (b + 1) * M));
          for (let k = 0; k < nx; k++) row[xIdx[k]!] = xRow[xIdx[k]!]!;
        }
      }
    }
  }
  await scorer.flush();
  const C = scorer.columns;
  const sums = scorer.sums;
  const base = backgroundMean ? Float64Array.from(backgroundMean) : Float64Array.from(sums, (s) => s[0]! / B);
  if (base.length !== C) throw new Error(`the background mean has ${base.length} columns, the model ${C}`);

  const records: KernelShapRecord[] = plans.map((p, i) => {
    const output = Float64Array.from(sums, (s) => s[start[i]!]!);
    const values = new Float64Array(M * C);
    const Mv = p.varying.length;
    if (Mv === 1) {
      for (let c = 0; c < C; c++) values[p.varying[0]! * C + c] = output[c]! - base[c]!;
    } else if (Mv > 1) {
      solveRecord(p, sums, start[i]! + 1, B, output, base, values, C);
    }
    return { values, output, coalitions: p.count, exact: p.exact };
  });
  return { records, base, columns: C, modelRows: scorer.rows, modelCalls: scorer.calls };
}

/**
 * Weighted least squares with sum(phi) = f(x) - base: the last varying feature is eliminated,
 * phi_last = delta - sum(others); the normal equations are shared by every output column.
 */
function solveRecord(p: Plan, sums: Float64Array[], first: number, B: number, output: Float64Array, base: Float64Array, values: Float64Array, C: number): void {
  const Mv = p.varying.length;
  const n = Mv - 1;
  const A = new Float64Array(n * n);
  const rhs = Array.from({ length: C }, () => new Float64Array(n));
  const xz = new Float64Array(n);
  for (let c = 0; c < p.count; c++) {
    const w = p.weights[c]!;
    if (w === 0) continue;
    const last = p.masks[c * Mv + n]!;
    for (let j = 0; j < n; j++) xz[j] = p.masks[c * Mv + j]! - last;
    // Upper triangle only; A is symmetric.
    for (let a = 0; a < n; a++) {
      const xa = xz[a]!;
      if (xa === 0) continue;
      const wa = w * xa;
      for (let b = a; b < n; b++) A[a * n + b]! += wa * xz[b]!;
    }
    for (let col = 0; col < C; col++) {
      const delta = output[col]! - base[col]!;
      const y = sums[col]![first + c]! / B - base[col]! - last * delta;
      const r = rhs[col]!;
      for (let a = 0; a < n; a++) r[a]! += w * xz[a]! * y;
    }
  }
  for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) A[a * n + b] = A[b * n + a]!;
  const { LU, piv } = factorRobust(A, n);
  for (let col = 0; col < C; col++) {
    const phi = luSolve(LU, piv, n, rhs[col]!);
    let s = 0;
    for (let j = 0; j < n; j++) {
      values[p.varying[j]! * C + col] = phi[j]!;
      s += phi[j]!;
    }
    values[p.varying[n]! * C + col] = output[col]! - base[col]! - s;
  }
}
