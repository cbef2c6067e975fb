/**
 * Colour transforms between RGB and YCbCr, JPEG/JFIF style: full range (Y, Cb, Cr all on 0–255, chroma
 * centred on 128), ITU-R BT.601 weights. Works on interleaved 3-channel samples, without rounding, so
 * rgb → ycbcr → rgb is exact up to float precision. The forward transform is not clamped (Cb and Cr of
 * saturated blues and reds reach 255.5; the quantiser clamps them); the inverse clamps RGB to [0, 255],
 * since dequantised YCbCr triples can fall outside the RGB gamut.
 */

const KR = 0.299;
const KG = 0.587;
const KB = 0.114;

function clamp255(v: number): number {
  return v < 0 ? 0 : Math.min(v, 255);
}

/** Converts one RGB triple to [Y, Cb, Cr]. */
export function rgbToYcbcrPixel(r: number, g: number, b: number): [number, number, number] {
  const y = KR * r + KG * g + KB * b;
  const cb = 128 + (b - y) / (2 * (1 - KB)); // 128 - 0.168736 r - 0.331264 g + 0.5 b
  const cr = 128 + (r - y) / (2 * (1 - KR)); // 128 + 0.5 r - 0.418688 g - 0.081312 b
  return [y, cb, cr];
}

/** Converts one YCbCr triple back to [R, G, B]. */
export function ycbcrToRgbPixel(y: number, cb: number, cr: number): [number, number, number] {
  const rgb: [number, number, number] = [0, 0, 0];
  ycbcrToRgbInto(y, cb, cr, rgb, 0);
  return rgb;
}

/**
 * ycbcrToRgbPixel writing R, G, B to out[at .. at + 2]: no array per pixel, for the loops a decoder runs once
 * over a whole image, where the allocations cost more than the arithmetic.
 */
export function ycbcrToRgbInto(
  y: number,
  cb: number,
  cr: number,
  out: { [index: number]: number },
  at: number,
): void {
  const r = y + 2 * (1 - KR) * (cr - 128); // y + 1.402 (cr - 128)
  const b = y + 2 * (1 - KB) * (cb - 128); // y + 1.772 (cb - 128)
  const g = (y - KR * r - KB * b) / KG; // y - 0.344136 (cb - 128) - 0.714136 (cr - 128)
  out[at] = clamp255(r);
  out[at + 1] = clamp255(g);
  out[at + 2] = clamp255(b);
}

/** RGB → YCbCr over interleaved samples; `out` may be `data`. */
export function rgbToYcbcr(
  data: Float32Array,
  out: Float32Array = new Float32Array(data.length),
): Float32Array {
  for (let i = 0; i + 2 < data.length; i += 3) {
    const [y, cb, cr] = rgbToYcbcrPixel(data[i], data[i + 1], data[i + 2]);
    out[i] = y;
    out[i + 1] = cb;
    out[i + 2] = cr;
  }
  return out;
}

/** YCbCr → RGB over interleaved samples; `out` may be `data`. */
export function ycbcrToRgb(
  data: Float32Array,
  out: Float32Array = new Float32Array(data.length),
): Float32Array {
  for (let i = 0; i + 2 < data.length; i += 3) {
    const [r, g, b] = ycbcrToRgbPixel(data[i], data[i + 1], data[i + 2]);
    out[i] = r;
    out[i + 1] = g;
    out[i + 2] = b;
  }
  return out;
}
