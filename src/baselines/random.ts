/**
 * A small seeded PRNG (mulberry32) so that every randomised selector is deterministic for a seed and
 * independent of Math.random. 32-bit state: plenty for choosing pixels, not for cryptography.
 */
export interface Rng {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
}

export function createRng(seed: number): Rng {
  let state = (Math.trunc(seed) ^ 0x9e3779b9) >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n) };
}

/** Fisher–Yates shuffle of the first `count` entries (partial shuffle: a uniform sample of size count). */
export function partialShuffle(values: Int32Array | Uint32Array, count: number, rng: Rng): void {
  const n = values.length;
  const k = Math.min(count, n);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(n - i);
    const t = values[i];
    values[i] = values[j];
    values[j] = t;
  }
}
