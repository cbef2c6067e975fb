import { corruptStream } from "../errors.ts";
import { createMask, type Mask } from "../image/types.ts";
import { type BitCoder, DecodingBitCoder, EncodingBitCoder } from "./bitio.ts";
import { BinaryContexts, initialCount } from "./rangecoder.ts";
import { spacingMultiple } from "./spacing.ts";

/**
 * Context-adaptive binary arithmetic coding of a mask, in raster order.
 *
 * The number of known pixels (`count`) is in the header, so the coder
 *  - starts every context at the mask's overall density (a prior worth PRIOR_WEIGHT observations), which
 *    cuts the learning cost of the many rarely-seen contexts;
 *  - codes nothing once the remaining ones are 0 or fill every remaining pixel.
 *
 * Each row first gets a flag "has any known pixel" (context: rows since the last non-empty row compared
 * with the gap before it). Pixels of a non-empty row are then coded with a template that looks at the
 * current row and the two previous *non-empty* rows P and Q:
 *
 *        Q:        .   NN  .           (NN = Q[x]; Q[x-1], Q[x+1] counted)
 *        P:   .   NW   N   NE  .       (P[x-2], P[x+2] counted)
 *        y:   .   WW   W   ?           (cur[x-3] counted)
 *
 * five exact bits (W, N, NW, NE, NN), a count (0, 1, 2+) of the six others, and the local density: the
 * number of known pixels in a causal window of about 1.5 mean spacings (R rows above, R columns either side,
 * R pixels to the left) against what the overall density predicts (< 0.3, < 0.7, < 1.3, more): 384 contexts.
 * Using the previous non-empty rows rather than the rows just above makes a regular grid (rows of known
 * pixels several rows apart, at the same columns) nearly free; the local density captures the varying
 * density of optimised masks (PS: 4–16% below n·H(p)); on an i.i.d. random mask the template costs only its
 * learning overhead (about 0.2%). The last pixel of a non-empty row that has no known pixel yet is implied.
 */

const PRIOR_WEIGHT = 8;
const ROW_CONTEXTS = 12;
const PIXEL_CONTEXTS = 32 * 3 * 4;
const DENSITY_RADIUS_TWICE = 3;

const PIXEL_LIMIT = 1 << 16;

/** A mask section that does not decode to the header's number of known pixels. */
export const wrongMaskCount = () => corruptStream("mask section decodes to the wrong number of known pixels");

/** What a mask's coder derives from its size and count (also passed to the WebAssembly decoder). */
export interface MaskPriors {
  /** The half-counts the pixel contexts start at (from the mask's density, PRIOR_WEIGHT observations). */
  p0: number;
  p1: number;
  /** The local density's window radius R, and its thresholds on the window's count of known pixels. */
  radius: number;
  th0: number;
  th1: number;
  th2: number;
}

export function maskPriors(width: number, height: number, count: number): MaskPriors {
  const n = width * height;
  const density = n > 0 ? count / n : 0;
  const prior1 = 2 * PRIOR_WEIGHT * density;
  const prior0 = 2 * PRIOR_WEIGHT * (1 - density);
  // Local density: known pixels in a causal window of (2R+1) columns x R rows above plus R pixels to the
  // left, compared with what the mask's density predicts for that area (thresholds 0.3, 0.7, 1.3 x).
  const radius = spacingMultiple(DENSITY_RADIUS_TWICE, 2, count, n, 64); // ⌈1.5 / √density⌉, at most 64
  const expected = density * ((2 * radius + 1) * radius + radius);
  return {
    p0: initialCount(prior0, PIXEL_LIMIT),
    p1: initialCount(prior1, PIXEL_LIMIT),
    radius,
    th0: 0.3 * expected,
    th1: 0.7 * expected,
    th2: 1.3 * expected,
  };
}

export function codeMask(data: Uint8Array, width: number, height: number, count: number, io: BitCoder): void {
  const n = width * height;
  const { p0, p1, radius: R, th0, th1, th2 } = maskPriors(width, height, count);
  const rowCtx = new BinaryContexts(ROW_CONTEXTS, 1 << 16, 1, 1);
  // p0, p1 are already whole half-counts within the limit, which the contexts take as they are
  const pixCtx = new BinaryContexts(PIXEL_CONTEXTS, PIXEL_LIMIT, p0, p1);
  const colCum = new Int32Array(width); // known pixels per column in rows y-R .. y-1
  const onesX = new Int32Array(count); // columns of the known pixels so far, in raster order
  const rowFirst = new Int32Array(height + 1); // index in onesX of each row's first known pixel
  let ones = 0;

  let remaining = count; // ones still to come
  let p = -1; // offset of the previous non-empty row
  let q = -1; // and of the one before
  let pRow = -1;
  let qRow = -1;
  for (let y = 0; y < height; y++) {
    if (remaining === 0) return; // the rest is zero (data starts zeroed)
    const rowStart = y * width;
    const pixelsLeft = n - rowStart;
    // Slide the R-row window of column counts down to rows y-R .. y-1 (touching only known pixels).
    rowFirst[y] = ones;
    if (y >= 1) for (let k = rowFirst[y - 1]; k < ones; k++) colCum[onesX[k]]++;
    if (y - 1 - R >= 0) for (let k = rowFirst[y - 1 - R]; k < rowFirst[y - R]; k++) colCum[onesX[k]]--;
    if (remaining === pixelsLeft) {
      data.fill(1, rowStart, n);
      return;
    }
    // Row flag: does this row hold any known pixel? Implied when the rows below cannot hold them all.
    let rowIsSet: number;
    if (remaining > pixelsLeft - width) {
      rowIsSet = 1;
    } else {
      let rc: number;
      if (pRow < 0) rc = 0;
      else {
        const since = y - pRow;
        if (qRow >= 0) {
          const gap = pRow - qRow;
          rc = since < gap ? 1 : since === gap ? 2 : 3;
          if (since === 1) rc += 3; // 4..6: directly below the previous non-empty row
        } else rc = 7 + Math.min(since, 4) - 1; // 7..10
      }
      let actual = 0;
      for (let i = rowStart; i < rowStart + width; i++) actual |= data[i];
      rowIsSet = io.bit(rowCtx, rc, actual);
    }
    if (!rowIsSet) continue;

    let seen = 0; // ones in this row so far
    // Window sums, slid along the row: columns x-R .. x+R of the rows above, and x-R .. x-1 of this row.
    let above = 0;
    for (let x = 0; x <= R && x < width; x++) above += colCum[x];
    let leftOnes = 0;
    for (let x = 0; x < width; x++) {
      const i = rowStart + x;
      const left = n - i; // pixels from here to the end
      let b: number;
      if (remaining === 0) {
        b = 0;
      } else if (remaining === left) {
        b = 1;
      } else if (seen === 0 && x === width - 1) {
        b = 1;
      } else {
        const W = x >= 1 ? data[i - 1] : 0;
        const WW = x >= 2 ? data[i - 2] : 0;
        let N = 0;
        let NW = 0;
        let NE = 0;
        let NN = 0;
        let outer = x >= 3 ? data[i - 3] : 0;
        if (p >= 0) {
          const pi = p + x;
          N = data[pi];
          if (x >= 1) NW = data[pi - 1];
          if (x + 1 < width) NE = data[pi + 1];
          if (x >= 2) outer += data[pi - 2];
          if (x + 2 < width) outer += data[pi + 2];
        }
        if (q >= 0) {
          const qi = q + x;
          NN = data[qi];
          if (x >= 1) outer += data[qi - 1];
          if (x + 1 < width) outer += data[qi + 1];
        }
        const c = above + leftOnes;
        const local = c < th0 ? 0 : c < th1 ? 1 : c < th2 ? 2 : 3;
        const k =
          ((W | (N << 1) | (NW << 2) | (NE << 3) | (NN << 4)) * 3 + Math.min(outer + WW, 2)) * 4 + local;
        b = io.bit(pixCtx, k, data[i]);
      }
      data[i] = b;
      if (b) onesX[ones++] = x;
      seen += b;
      remaining -= b;
      leftOnes += b;
      if (x - R >= 0) leftOnes -= data[i - R];
      if (x + 1 + R < width) above += colCum[x + 1 + R];
      if (x - R >= 0) above -= colCum[x - R];
    }
    q = p;
    qRow = pRow;
    p = rowStart;
    pRow = y;
  }
  if (remaining !== 0) throw wrongMaskCount();
}

/** Codes a mask whose number of ones is `count` (must equal the mask's). */
export function encodeMask(mask: Mask, count: number): Uint8Array {
  const io = new EncodingBitCoder(Math.max(64, mask.data.length >>> 5));
  // codeMask writes the bits it codes back into data; for the encoder they are unchanged, but use a copy
  // so the caller's mask is never touched.
  const data = Uint8Array.from(mask.data);
  codeMask(data, mask.width, mask.height, count, io);
  return io.encoder.finish();
}

/** Decodes a mask section bytes[start, end) of a width x height mask with `count` known pixels. */
export function decodeMask(
  bytes: Uint8Array,
  start: number,
  end: number,
  width: number,
  height: number,
  count: number,
): Mask {
  const io = new DecodingBitCoder(bytes, start, end, "mask section");
  const mask = createMask(width, height);
  codeMask(mask.data, width, height, count, io);
  io.decoder.finish();
  return mask;
}
