/**
 * The one seeded PRNG of the project (mulberry32): every randomised choice (random masks, PS, NLPE, the
 * networks' noise maps and initialisation, training batches) is deterministic for a seed and independent of
 * Math.random. Its whole state is one uint32, so checkpoints can store it. Plenty for choosing pixels, not
 * for cryptography. torch/maskgan.py Mulberry32 is the same generator.
 */
export class Rng {
  constructor(public state: number) {
    this.state = state >>> 0;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Fills `array` with uniform floats in [0, 1). */
  fill(array: Float32Array): Float32Array {
    for (let i = 0; i < array.length; i++) array[i] = this.next();
    return array;
  }

  /**
   * The value the `index`-th call of next() would return on a fresh Rng(seed), without the calls before it
   * (the state only advances by a constant): random access into the stream, for tiled inference.
   */
  static at(seed: number, index: number): number {
    let t = ((seed >>> 0) + Math.imul(index + 1, 0x6d2b79f5)) >>> 0;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

/** The mask selectors' generator for a user's seed (the seed is mixed so that 0, 1, 2… start far apart). */
export function createRng(seed: number): Rng {
  return new Rng((Math.trunc(seed) ^ 0x9e3779b9) >>> 0);
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
