import type { ColourTransform, StreamHeader } from "../../src/codec/types.ts";
import { type Channels, createImage, createMask, type Image, type Mask } from "../../src/image/types.ts";

/** Small seeded generator (mulberry32) so every test input is reproducible. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Exactly round(p * n) known pixels, uniformly at random (at least one). */
export function randomMask(width: number, height: number, p: number, seed: number): Mask {
  const mask = createMask(width, height);
  const n = width * height;
  const k = Math.min(n, Math.max(1, Math.round(p * n)));
  const r = rng(seed);
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(r() * (n - i));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
    mask.data[idx[i]] = 1;
  }
  return mask;
}

/** A regular grid of known pixels with spacing 1/sqrt(p) (non-integer spacings rounded down per point). */
export function gridMask(width: number, height: number, p: number, stagger = false): Mask {
  const mask = createMask(width, height);
  const s = 1 / Math.sqrt(p);
  for (let gy = 0; (gy + 0.5) * s < height; gy++) {
    const shift = stagger && gy % 2 === 1 ? s / 2 : 0;
    for (let gx = 0; (gx + 0.5) * s + shift < width; gx++) {
      mask.data[Math.floor((gy + 0.5) * s) * width + Math.floor((gx + 0.5) * s + shift)] = 1;
    }
  }
  return mask;
}

/** A smooth image with some texture and noise, on the 0–255 scale. */
export function syntheticImage(
  width: number,
  height: number,
  channels: Channels,
  seed: number,
  noise = 8,
): Image {
  const image = createImage(width, height, channels);
  const r = rng(seed);
  const fx = 0.02 + 0.1 * r();
  const fy = 0.02 + 0.1 * r();
  const phase = 6 * r();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const v =
          128 +
          80 * Math.sin(fx * x + phase + c) * Math.cos(fy * y - c) +
          20 * Math.sin(0.5 * x * fy + 0.3 * y) +
          noise * (r() - 0.5);
        image.data[(y * width + x) * channels + c] = Math.max(0, Math.min(255, v));
      }
    }
  }
  return image;
}

/** Binary entropy in bits. */
export function entropy(p: number): number {
  return p <= 0 || p >= 1 ? 0 : -(p * Math.log2(p) + (1 - p) * Math.log2(1 - p));
}

export function header(
  width: number,
  height: number,
  channels: Channels,
  colour: ColourTransform = channels === 3 ? "ycbcr" : "none",
  levels: [number, number] = [64, 32],
  gan = false,
): StreamHeader {
  const h: StreamHeader = {
    version: 1,
    width,
    height,
    channels,
    colour,
    backend: gan ? "gan" : "diffusion",
    quantiser: { lumaLevels: levels[0], chromaLevels: levels[1] },
  };
  if (gan) {
    h.modelId = "gan-d0.05-test";
    h.weightHash = "0123456789abcdef";
  }
  return h;
}

/** Number of positions where two equally long arrays differ (fast, unlike a deep equality on 10^5 items). */
export function differences(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) d++;
  return d;
}

/** Recomputes the trailing CRC-32 of a (modified) stream in place, so a test can reach the parser's later checks. */
export function fixCrc(bytes: Uint8Array, crc: (b: Uint8Array, s: number, e: number) => number): Uint8Array {
  if (bytes.length < 4) return bytes;
  const end = bytes.length - 4;
  const c = crc(bytes, 0, end);
  bytes[end] = c >>> 24;
  bytes[end + 1] = (c >>> 16) & 0xff;
  bytes[end + 2] = (c >>> 8) & 0xff;
  bytes[end + 3] = c & 0xff;
  return bytes;
}

const TYPED = [
  "Uint8Array",
  "Int32Array",
  "Uint32Array",
  "Float32Array",
  "Float64Array",
  "Uint16Array",
  "Int16Array",
] as const;

/**
 * Runs fn while counting the bytes of every typed array constructed with a length (how the codec allocates
 * everything sized by a stream), by wrapping the global constructors in proxies, and of every growth of a
 * WebAssembly memory (the stream decoders', src/codec/wasm-decoders.ts). Returns the total.
 */
export function countAllocations(fn: () => void): number {
  let total = 0;
  const grow = WebAssembly.Memory.prototype.grow;
  WebAssembly.Memory.prototype.grow = function (this: WebAssembly.Memory, pages: number) {
    total += pages * 65536;
    return grow.call(this, pages);
  };
  const g = globalThis as unknown as Record<string, unknown>;
  const saved = TYPED.map((name) => g[name]);
  TYPED.forEach((name, k) => {
    const target = saved[k] as { new (...args: unknown[]): unknown; BYTES_PER_ELEMENT: number };
    g[name] = new Proxy(target, {
      construct(t, args, newTarget) {
        if (typeof args[0] === "number") total += args[0] * t.BYTES_PER_ELEMENT;
        else if (
          args[0] &&
          typeof (args[0] as ArrayLike<number>).length === "number" &&
          !(args[0] instanceof ArrayBuffer)
        ) {
          total += (args[0] as ArrayLike<number>).length * t.BYTES_PER_ELEMENT;
        }
        return Reflect.construct(t, args, newTarget);
      },
    });
  });
  try {
    fn();
  } finally {
    WebAssembly.Memory.prototype.grow = grow;
    TYPED.forEach((name, k) => {
      g[name] = saved[k];
    });
  }
  return total;
}

/**
 * What decoding a stream of `streamLength` bytes with this validated header may allocate: the mask (1 byte a
 * pixel) and the known image (4 bytes a sample), the level indices (1 byte a value) and the mask coder's list
 * of known columns (4 bytes a known pixel), per-row and per-column arrays, and a fixed 64 KiB for contexts and
 * the like; besides, the WebAssembly decoders' copies of the sections and the mask, and a page of rounding.
 */
export function allocationBound(
  h: { width: number; height: number; channels: number },
  count: number,
  streamLength: number,
): number {
  const pixels = h.width * h.height;
  const decoders = streamLength + pixels + 64 * 1024;
  return (
    pixels * (1 + 4 * h.channels) +
    count * (h.channels + 4) +
    4 * (h.height + 1) +
    16 * h.width +
    64 * 1024 +
    decoders
  );
}
