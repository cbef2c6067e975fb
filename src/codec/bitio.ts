import { type BinaryContexts, RangeDecoder, RangeEncoder } from "./rangecoder.ts";

/**
 * One interface over encoder and decoder, so that each model (mask, values) is written once and both
 * directions use the very same context logic: `bit(ctx, k, b)` codes b (encoder) or returns the decoded bit
 * (decoder, b ignored).
 */
export interface BitCoder {
  bit(ctx: BinaryContexts, k: number, b: number): number;
  even(b: number): number;
  evenBits(value: number, nbits: number): number;
}

export class EncodingBitCoder implements BitCoder {
  readonly encoder: RangeEncoder;
  constructor(capacity?: number) {
    this.encoder = new RangeEncoder(capacity);
  }
  bit(ctx: BinaryContexts, k: number, b: number): number {
    this.encoder.encode(ctx, k, b);
    return b;
  }
  even(b: number): number {
    this.encoder.encodeEven(b);
    return b;
  }
  evenBits(value: number, nbits: number): number {
    this.encoder.encodeEvenBits(value, nbits);
    return value;
  }
}

export class DecodingBitCoder implements BitCoder {
  readonly decoder: RangeDecoder;
  constructor(bytes: Uint8Array, start: number, end: number, what: string) {
    this.decoder = new RangeDecoder(bytes, start, end, what);
  }
  bit(ctx: BinaryContexts, k: number, _b: number): number {
    return this.decoder.decode(ctx, k);
  }
  even(_b: number): number {
    return this.decoder.decodeEven();
  }
  evenBits(_value: number, nbits: number): number {
    return this.decoder.decodeEvenBits(nbits);
  }
}
