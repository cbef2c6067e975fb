/**
 * Tiled network inference: the generators run over overlapping windows of a fixed geometry, so that the
 * memory they need no longer grows with the image and no single tensor-backend call sees more than one
 * window.
 *
 * Geometry: the image is cut into cores of `core` × `core` pixels on a grid anchored at (0, 0); each core is
 * run inside a window that extends it by `margin` pixels on every side (clipped at the image). Only the
 * core of each window's output is kept, so every output pixel comes from exactly one window: no blending,
 * and pixels far from a window's edge see the same receptive field as in an untiled run. Core and margin are
 * multiples of the networks' size multiple (2^levels), so every window starts on the pooling grid of the
 * whole image and its max-pools see the same 2×2 blocks as an untiled run would.
 *
 * The geometry is a constant of the decoder (DECODER_TILING), not of the machine: the decoded image is a
 * pure function of the stream whatever memory or thread count the decoder has. An image no larger than one
 * core (or `span`) is a single window, identical to an untiled run.
 */

export interface TileGeometry {
  /** Side of the square cores (a multiple of the size multiple). */
  readonly core: number;
  /** Context kept around each core on every side (a multiple of the size multiple). */
  readonly margin: number;
  /**
   * An image side of at most this many pixels is not cut: one core spans it (default: core). With
   * core + 2 · margin, an image no larger than one window runs as that single window, untiled.
   */
  readonly span?: number;
}

/**
 * The tiling of the gan backend's decoder for format versions 1 and 3: 512-pixel cores with 128 pixels of
 * context, and an image side of up to 768 pixels (one window) not cut at all.
 *
 * Why these numbers (docs/notes/photos.md): at a margin of 128 the error against untiled inference is a
 * quarter of an 8-bit level in RMSE next to the cores' borders (the hourglasses' nominal receptive field is
 * ~220 pixels, their effective reach shorter); a 768² window keeps the networks under 0.8 GB of memory, which
 * leaves room for a 12 MP image's own buffers within 1.5 GB. The overlap costs (768 / 512)² = 2.25× the pixels
 * of a core in the interior of a large image; images up to 768 × 768 (Kodak's 768 × 512 among them) run as one
 * window, exactly as untiled.
 */
export const DECODER_TILING: TileGeometry = { core: 512, margin: 128, span: 768 };

/**
 * The decoder's tiling for format version 5: 768-pixel cores with the same 128 pixels of context, images with
 * sides up to 1024 pixels in one window. Larger windows spend less of the work on the margins (1.66× the pixels
 * of a 12 MP photo against 2.07×, 1.56× against 2.06× at 2 MP): a 2 MP decode in 20–30 % less time. They
 * became affordable when the inpainting generator let go of each full-resolution tensor once consumed: a
 * 1024² window's tensors peak at the memory a 768² window's took before (docs/notes/photos.md, "Tiled network
 * inference"). The same margin, so the same seams.
 */
export const DECODER_TILING_V5: TileGeometry = { core: 768, margin: 128, span: 1024 };

/**
 * The decoder's tiling for format version 6: 1024-pixel cores with the same 128 pixels of context, images with
 * sides up to 1280 pixels in one window. 1.40 window pixels per image pixel at 12 MP (4000 × 3000, 12 windows)
 * against version 5's 1.66, and a 1632 × 1224 photo in two windows instead of four. A network's cost per
 * window pixel does not depend on the window's size (1.76 µs at 768², 1024² and 1280², docs/notes/photos.md),
 * so the time falls with the pixels. Affordable because the windows' diffusion input is solved on the main
 * thread, one window at a time, so worker threads hold only the networks' memory. The same margin, so the
 * same seams.
 */
export const DECODER_TILING_V6: TileGeometry = { core: 1024, margin: 128, span: 1280 };

/** The decoder's tiling by format version: part of what a stream decodes to. */
export function decoderTiling(version: number): TileGeometry {
  if (version >= 6) return DECODER_TILING_V6;
  return version >= 5 ? DECODER_TILING_V5 : DECODER_TILING;
}

/**
 * The tiling of the gan backend's mask generator, which only the encoder runs (the mask it chooses is
 * stored in the stream, so the decoded image does not depend on it): 640-pixel cores with 64 pixels of
 * context in the same 768² windows, 1.40× the pixels of a 12 MP photo against the decoder tiling's 2.07×.
 * The mask is a dithering of the scores, so any change to them reshuffles the mask; what matters is its
 * quality: kodim01 upscaled to 1632 × 1224 at 5 %, decoded with DECODER_TILING, gave 25.94 dB from the
 * untiled mask generator, 25.97 / 25.99 / 26.05 dB from cores and margins of 512/128, 640/64 and 704/32 (the
 * spread of the dithering, no trend), and the encoder's time fell from 8.5 to 5.2 and 4.6 CPU s.
 */
export const ENCODER_TILING: TileGeometry = { core: 640, margin: 64, span: 768 };

/** A single window over any image (untiled inference; for comparisons and tests). */
export const UNTILED: TileGeometry = { core: Number.POSITIVE_INFINITY, margin: 0 };

export interface Tile {
  /** Window [x0, x1) × [y0, y1) in image coordinates (clipped to the image). */
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
  /** Core [cx0, cx1) × [cy0, cy1): the pixels this window's output provides. */
  readonly cx0: number;
  readonly cy0: number;
  readonly cx1: number;
  readonly cy1: number;
}

/** The windows of a width × height image, row by row. */
export function tileGrid(width: number, height: number, geometry: TileGeometry): Tile[] {
  const { core, margin } = geometry;
  const span = geometry.span ?? core;
  const tiles: Tile[] = [];
  const step = (n: number) => (Number.isFinite(core) && n > span ? core : n);
  for (let cy0 = 0; cy0 < height; cy0 += step(height)) {
    const cy1 = Math.min(height, cy0 + step(height));
    for (let cx0 = 0; cx0 < width; cx0 += step(width)) {
      const cx1 = Math.min(width, cx0 + step(width));
      tiles.push({
        x0: Math.max(0, cx0 - margin),
        y0: Math.max(0, cy0 - margin),
        x1: Math.min(width, cx1 + margin),
        y1: Math.min(height, cy1 + margin),
        cx0,
        cy0,
        cx1,
        cy1,
      });
    }
  }
  return tiles;
}

/** Checks that a geometry keeps windows on the pooling grid of networks with this size multiple. */
export function checkGeometry(geometry: TileGeometry, multiple: number): void {
  const { core, margin } = geometry;
  if (Number.isFinite(core) && (core <= 0 || core % multiple !== 0 || margin % multiple !== 0)) {
    throw new Error(`tile core ${core} and margin ${margin} must be positive multiples of ${multiple}`);
  }
  if (geometry.span !== undefined && geometry.span < core) {
    throw new Error(`tile span ${geometry.span} must be at least the core ${core}`);
  }
}

/** True when `mask` (one channel, `width` wide) has a nonzero pixel in the tile's window. */
export function windowHoldsAny(mask: Uint8Array, width: number, t: Tile): boolean {
  for (let y = t.y0; y < t.y1; y++) {
    for (let i = y * width + t.x0; i < y * width + t.x1; i++) if (mask[i]) return true;
  }
  return false;
}

/** A tile's window [x0, x1) × [y0, y1) cut out of an interleaved raster with `channels` values per pixel. */
export function windowOf<T extends Float32Array | Uint8Array>(
  data: T,
  width: number,
  channels: number,
  t: Tile,
): T {
  const w = t.x1 - t.x0;
  const out = new (data.constructor as new (length: number) => T)(w * (t.y1 - t.y0) * channels);
  for (let y = t.y0; y < t.y1; y++) {
    const from = (y * width + t.x0) * channels;
    out.set(data.subarray(from, from + w * channels), (y - t.y0) * w * channels);
  }
  return out;
}
