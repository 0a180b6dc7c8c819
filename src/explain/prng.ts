/**
 * A seeded pseudo-random generator for reproducible explanations: mulberry32 (Tommy Ettinger's
 * 32-bit generator). Math.random cannot be seeded; ten lines here are cheaper to own than a
 * dependency, and the sequence for a seed can never change under us with a library update, so a
 * seed gives the same kernel SHAP values on every machine and every release. Its 2^32 period and
 * statistical quality are ample for drawing a few thousand coalitions.
 */
export class Prng {
  private state: number;

  constructor(seed: number) {
    // Mix the seed so nearby seeds start far apart.
    this.state = (Math.imul((seed | 0) ^ 0x9e3779b9, 0x85ebca6b) ^ 0xc2b2ae35) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}
