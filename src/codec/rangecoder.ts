import { corruptStream } from "../errors.ts";

/**
 * A binary range coder (the carry-propagating "cache + low" design of LZMA) driven by adaptive
 * frequency-count contexts. Written here rather than taken from the `arithmetic-coding` package: see
 * docs/notes/codec.md for the measured reasons (speed, and its API being a static order-0 byte coder).
 *
 * Probabilities are counts, not shift-register estimates: a context holds c0 and c1 in half-units
 * (Krichevsky–Trofimov, start at 1/2 each, +1 per symbol), so a stationary source is learnt at the
 * O(log n) cost of an ideal adaptive model instead of the fixed excess of an exponential-decay estimator
 * (which costs >10% on a 2%-density mask). When c0 + c1 exceeds the context group's `limit`, both halve,
 * which lets non-stationary data (pixel values) adapt.
 *
 * Everything is exact integer arithmetic in doubles (products < 2^49), so encoder and decoder agree
 * bit for bit on every platform.
 */

const TOP = 0x1000000; // 2^24 (literals, not **, which the language lets engines approximate)
const TWO32 = 0x100000000;
const FLUSH_UNITS = [0x1000000, 0x10000, 0x100, 1];

/** A group of adaptive binary contexts that share a count limit. */
export class BinaryContexts {
  /** counts[2k] = c0, counts[2k+1] = c1 of context k, in half-counts (each >= 1). */
  readonly counts: Uint32Array;

  /**
   * @param size number of contexts
   * @param limit halve both counts when their sum exceeds this (half-counts; at most 2^16)
   * @param prior0 initial c0 in half-counts (>= 1); prior1 likewise for c1
   */
  constructor(
    readonly size: number,
    readonly limit = 1 << 16,
    prior0 = 1,
    prior1 = 1,
  ) {
    if (!(limit >= 4 && limit <= 1 << 16)) throw new RangeError(`context limit ${limit} out of range`);
    this.counts = new Uint32Array(size * 2);
    const p0 = initialCount(prior0, limit);
    const p1 = initialCount(prior1, limit);
    for (let k = 0; k < size; k++) {
      this.counts[2 * k] = p0;
      this.counts[2 * k + 1] = p1;
    }
  }

  /** Estimated probability of a 1 in context k (for tests and diagnostics). */
  p1(k: number): number {
    const c0 = this.counts[2 * k];
    const c1 = this.counts[2 * k + 1];
    return c1 / (c0 + c1);
  }
}

/** A section that does not start with a valid code value (`what`: the section, as messages name it). */
export const badStart = (what: string) => corruptStream(`${what} does not start with a valid code value`);
/** A section whose decoding reads past its end. */
export const truncated = (what: string) => corruptStream(`${what} ends too early (truncated)`);
/** A section whose last `count` bytes were not used. */
export const trailingBytes = (what: string, count: number) =>
  corruptStream(`${what} has ${count} unused trailing byte(s)`);

/** The half-count a context starts at for a prior of `prior` half-counts, in a group with count limit `limit`. */
export function initialCount(prior: number, limit: number): number {
  return Math.max(1, Math.min(limit >>> 1, Math.round(prior)));
}

/** Adds one observation of `bit` to the context at counts index i (= 2k), halving at the limit. */
export function updateContext(ctx: BinaryContexts, i: number, bit: number): void {
  const m = ctx.counts;
  m[i + bit] += 2;
  if (m[i] + m[i + 1] > ctx.limit) {
    m[i] = (m[i] + 1) >>> 1;
    m[i + 1] = (m[i + 1] + 1) >>> 1;
  }
}

export class RangeEncoder {
  private low = 0;
  private range = 0xffffffff;
  private cache = 0;
  private cacheSize = 1;
  /** The very first byte out is always the initial cache 0; it is not written (the decoder knows it). */
  private skipFirst = true;
  private out: Uint8Array;
  private pos = 0;
  private finished = false;

  constructor(initialCapacity = 1024) {
    this.out = new Uint8Array(Math.max(16, initialCapacity));
  }

  /** Codes `bit` (0 or 1) in context `k` of `ctx` and updates that context. */
  encode(ctx: BinaryContexts, k: number, bit: number): void {
    const i = k << 1;
    const c0 = ctx.counts[i];
    const bound = Math.floor((this.range * c0) / (c0 + ctx.counts[i + 1]));
    if (bit) {
      this.low += bound;
      this.range -= bound;
    } else {
      this.range = bound;
    }
    updateContext(ctx, i, bit);
    while (this.range < TOP) {
      this.range *= 256;
      this.shiftLow();
    }
  }

  /** Codes a bit with probability 1/2 (no context). */
  encodeEven(bit: number): void {
    const bound = Math.floor(this.range / 2);
    if (bit) {
      this.low += bound;
      this.range -= bound;
    } else {
      this.range = bound;
    }
    while (this.range < TOP) {
      this.range *= 256;
      this.shiftLow();
    }
  }

  /** Codes the `nbits` low bits of `value` with probability 1/2 each, most significant first. */
  encodeEvenBits(value: number, nbits: number): void {
    for (let b = nbits - 1; b >= 0; b--) this.encodeEven((value >>> b) & 1);
  }

  private emit(byte: number): void {
    if (this.skipFirst) {
      this.skipFirst = false;
      return;
    }
    if (this.pos === this.out.length) {
      const grown = new Uint8Array(this.out.length * 2);
      grown.set(this.out);
      this.out = grown;
    }
    this.out[this.pos++] = byte;
  }

  private shiftLow(): void {
    const low = this.low;
    if (low < 0xff000000 || low >= TWO32) {
      const carry = low >= TWO32 ? 1 : 0;
      let c = this.cache;
      do {
        this.emit((c + carry) & 0xff);
        c = 0xff;
      } while (--this.cacheSize !== 0);
      this.cache = Math.floor(low / TOP) & 0xff;
    }
    this.cacheSize++;
    this.low = (low % TOP) * 256;
  }

  /**
   * Ends the stream with as few bytes as identify a value in the final interval (the decoder reads
   * missing bytes past the end as zeros) and returns the coded bytes.
   */
  finish(): Uint8Array {
    if (this.finished) throw new Error("RangeEncoder.finish called twice");
    this.finished = true;
    const last = this.low + this.range - 1;
    let k = 1;
    let v = this.low;
    for (; k <= 4; k++) {
      const unit = FLUSH_UNITS[k - 1];
      v = Math.ceil(this.low / unit) * unit;
      if (v <= last) break;
    }
    this.low = v;
    for (let s = 0; s <= k; s++) this.shiftLow();
    return this.out.slice(0, this.pos);
  }
}

/**
 * Decodes what RangeEncoder wrote, from bytes[start, end). Reading past `end` yields zeros, but a valid
 * stream never needs more than 3 such bytes, so more means the data is corrupt (this also bounds the
 * work done on garbage). `finish()` checks that every byte of the section was used.
 */
export class RangeDecoder {
  private code = 0;
  private range = 0xffffffff;
  private pos: number;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly end: number,
    private readonly what = "coded data",
  ) {
    this.pos = start;
    for (let i = 0; i < 4; i++) this.code = this.code * 256 + this.next();
    if (this.code >= this.range) throw badStart(this.what);
  }

  private next(): number {
    const p = this.pos++;
    if (p < this.end) return this.bytes[p];
    if (p >= this.end + 3) throw truncated(this.what);
    return 0;
  }

  decode(ctx: BinaryContexts, k: number): number {
    const i = k << 1;
    const c0 = ctx.counts[i];
    const bound = Math.floor((this.range * c0) / (c0 + ctx.counts[i + 1]));
    let bit: number;
    if (this.code < bound) {
      this.range = bound;
      bit = 0;
    } else {
      this.code -= bound;
      this.range -= bound;
      bit = 1;
    }
    updateContext(ctx, i, bit);
    while (this.range < TOP) {
      this.range *= 256;
      this.code = this.code * 256 + this.next();
    }
    return bit;
  }

  decodeEven(): number {
    const bound = Math.floor(this.range / 2);
    let bit: number;
    if (this.code < bound) {
      this.range = bound;
      bit = 0;
    } else {
      this.code -= bound;
      this.range -= bound;
      bit = 1;
    }
    while (this.range < TOP) {
      this.range *= 256;
      this.code = this.code * 256 + this.next();
    }
    return bit;
  }

  decodeEvenBits(nbits: number): number {
    let v = 0;
    for (let b = 0; b < nbits; b++) v = v * 2 + this.decodeEven();
    return v;
  }

  /** Throws unless the whole section was consumed (bytes left over = corrupt or appended data). */
  finish(): void {
    if (this.pos < this.end) {
      throw trailingBytes(this.what, this.end - this.pos);
    }
  }
}
