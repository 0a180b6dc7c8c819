/**
 * Dense linear solves for kernel SHAP's weighted least squares: a few hundred unknowns at most
 * (one per varying feature), so O(n^3) Gaussian elimination is microseconds to milliseconds. Forty
 * lines here instead of a matrix library: nothing else in Plinth needs one, and the system is
 * small, symmetric and usually well conditioned.
 */

/**
 * LU factorisation with partial pivoting of the n x n row-major matrix A (overwritten). Returns
 * the pivot order, or undefined when a pivot falls below `tolerance` x the largest entry
 * (numerically singular).
 */
export function luFactor(A: Float64Array, n: number, tolerance = 1e-12): Int32Array | undefined {
  const piv = new Int32Array(n);
  for (let i = 0; i < n; i++) piv[i] = i;
  let scale = 0;
  for (let i = 0; i < n * n; i++) scale = Math.max(scale, Math.abs(A[i]!));
  if (scale === 0) return n === 0 ? piv : undefined;
  for (let k = 0; k < n; k++) {
    let p = k;
    let best = Math.abs(A[k * n + k]!);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(A[i * n + k]!);
      if (v > best) {
        best = v;
        p = i;
      }
    }
    if (best <= tolerance * scale) return undefined;
    if (p !== k) {
      for (let j = 0; j < n; j++) {
        const t = A[k * n + j]!;
        A[k * n + j] = A[p * n + j]!;
        A[p * n + j] = t;
      }
      const t = piv[k]!;
      piv[k] = piv[p]!;
      piv[p] = t;
    }
    const d = A[k * n + k]!;
    for (let i = k + 1; i < n; i++) {
      const f = (A[i * n + k]! /= d);
      if (f === 0) continue;
      for (let j = k + 1; j < n; j++) A[i * n + j]! -= f * A[k * n + j]!;
    }
  }
  return piv;
}

/** Solves LU x = b[piv] for a factorisation from luFactor; returns x. */
export function luSolve(LU: Float64Array, piv: Int32Array, n: number, b: ArrayLike<number>): Float64Array {
  const x = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[piv[i]!]!;
    for (let j = 0; j < i; j++) s -= LU[i * n + j]! * x[j]!;
    x[i] = s;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i]!;
    for (let j = i + 1; j < n; j++) s -= LU[i * n + j]! * x[j]!;
    x[i] = s / LU[i * n + i]!;
  }
  return x;
}

/**
 * Factorises A (n x n, copied), adding a small ridge (relative 1e-10, then 1e-6) if it is
 * numerically singular, as happens when too few coalitions were sampled to pin every feature.
 */
export function factorRobust(A: Float64Array, n: number): { LU: Float64Array; piv: Int32Array; ridge: number } {
  let trace = 0;
  for (let i = 0; i < n; i++) trace += Math.abs(A[i * n + i]!);
  for (const rel of [0, 1e-10, 1e-6]) {
    const LU = Float64Array.from(A);
    const ridge = (rel * trace) / Math.max(n, 1);
    for (let i = 0; i < n; i++) LU[i * n + i]! += ridge;
    const piv = luFactor(LU, n);
    if (piv) return { LU, piv, ridge };
  }
  throw new Error('the weighted least squares system is singular');
}
