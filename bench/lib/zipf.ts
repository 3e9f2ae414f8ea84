/**
 * Seeded randomness for generated traffic: a small PRNG (so a run's traffic is reproducible from
 * its seed) and a Zipf sampler for skewed user activity, where user k is picked with probability
 * proportional to 1 / k^s (s = 1 is the classic "a few users do most of the sessions").
 */

/** mulberry32: a 32-bit seeded PRNG, uniform in [0, 1). Good enough for traffic shaping. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Samples ranks 1..n with P(k) = k^-s / H(n, s), by binary search over the precomputed CDF. */
export class ZipfSampler {
  readonly #cdf: Float64Array;

  constructor(
    readonly n: number,
    readonly s: number,
    private readonly random: () => number,
  ) {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`n must be a positive integer: ${n}`);
    if (!(s >= 0) || !Number.isFinite(s)) throw new RangeError(`s must be a finite number >= 0: ${s}`);
    this.#cdf = new Float64Array(n);
    let sum = 0;
    for (let k = 1; k <= n; k++) {
      sum += k ** -s;
      this.#cdf[k - 1] = sum;
    }
    for (let i = 0; i < n; i++) this.#cdf[i] = (this.#cdf[i] as number) / sum;
    this.#cdf[n - 1] = 1; // no rounding gap at the top
  }

  /** Probability of rank k (1-based). */
  probability(k: number): number {
    if (k < 1 || k > this.n) return 0;
    return (this.#cdf[k - 1] as number) - (k === 1 ? 0 : (this.#cdf[k - 2] as number));
  }

  /** A rank in 1..n. */
  sample(): number {
    const u = this.random();
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.#cdf[mid] as number) > u) hi = mid;
      else lo = mid + 1;
    }
    return lo + 1;
  }
}
