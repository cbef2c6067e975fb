/**
 * Colour images as separate planes: the low-rate codec stores luma and chroma at different pixels, so it
 * works on one-channel images, Y, Cb, Cr (full-range BT.601, src/image/colour.ts) for colour and the one
 * plane of a grey image.
 */
import { rgbToYcbcrPixel, ycbcrToRgbPixel } from "../image/colour.ts";
import { type Channels, createImage, type Image } from "../image/types.ts";

export function toPlanes(image: Image): Image[] {
  const { width, height, channels, data } = image;
  const n = width * height;
  if (channels === 1) return [createImage(width, height, 1, new Float32Array(data))];
  const planes = [0, 1, 2].map(() => createImage(width, height, 1));
  for (let i = 0; i < n; i++) {
    const [y, cb, cr] = rgbToYcbcrPixel(data[3 * i], data[3 * i + 1], data[3 * i + 2]);
    planes[0].data[i] = y;
    planes[1].data[i] = cb;
    planes[2].data[i] = cr;
  }
  return planes;
}

export function fromPlanes(planes: readonly Image[], channels: Channels): Image {
  const { width, height } = planes[0];
  const n = width * height;
  if (channels === 1) return createImage(width, height, 1, new Float32Array(planes[0].data));
  const out = createImage(width, height, 3);
  for (let i = 0; i < n; i++) {
    const [r, g, b] = ycbcrToRgbPixel(planes[0].data[i], planes[1].data[i], planes[2].data[i]);
    out.data[3 * i] = r;
    out.data[3 * i + 1] = g;
    out.data[3 * i + 2] = b;
  }
  return out;
}

/**
 * What one unit of squared error in each plane adds to the RGB squared error (summed over R, G, B, divided
 * by 3): Y reaches every channel with weight 1; Cb reaches B with 1.772 and G with 0.344; Cr reaches R
 * with 1.402 and G with 0.714 (cross terms ignored). Chroma errors cost about as much as luma errors in
 * RGB PSNR, so the split between luma and chroma points is left to the rate search.
 */
export const PLANE_WEIGHTS: readonly number[] = [
  1,
  (1.772 ** 2 + 0.344136 ** 2) / 3,
  (1.402 ** 2 + 0.714136 ** 2) / 3,
];
