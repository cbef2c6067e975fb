/**
 * The squared error of a tree-mode stream's decoded image, for the rate control's choices, without holding
 * a decoded photo: on an image of several windows the planes are inpainted window by window (each window's
 * core kept, as the encoder's least squares do) and the error summed core by core, so the memory is a
 * window's solver instead of the whole image's (about a gigabyte at 12 MP) plus a decoded image.
 *
 * The windows' solves see the stream's known pixels only within their margin, so on a large image this is the
 * decoded image's error to within the windows' effect: with the encoder's windows (TONAL_TILING, 32 pixels
 * of context), kodim01 upscaled to 1632 × 1224 at 30,000 and 95,000 luma points gave errors 0.04 % and
 * 0.02 % from the exact ones (0.0016 and 0.0007 dB), in less time than a decode. An image of one window gets
 * exactly the error of decodeLowrate.
 */
import { ycbcrToRgbPixel } from "../image/colour.ts";
import { mse } from "../image/metrics.ts";
import { createImage, createMask, type Image } from "../image/types.ts";
import { type Tile, type TileGeometry, tileGrid, windowHoldsAny, windowOf } from "../nets/tiling.ts";
import { decodeLowrate, inpaintPlane } from "./codec.ts";
import { inpaintingJobs, type PlaneJob } from "./decode.ts";
import { parseLowrate } from "./stream.ts";

/** One plane of one window, inpainted as the decoder would inpaint the whole plane; undefined without known pixels. */
function windowPlane(job: PlaneJob, width: number, t: Tile, version: number): Float32Array | undefined {
  const ww = t.x1 - t.x0;
  const wh = t.y1 - t.y0;
  if (!windowHoldsAny(job.mask.data, width, t)) return undefined;
  const mask = windowOf(job.mask.data, width, 1, t);
  const known = createImage(ww, wh, 1, windowOf(job.known.data, width, 1, t));
  return inpaintPlane(known, createMask(ww, wh, mask), version).data;
}

/** Mean squared error over all samples of `image` against the decoded stream (see the module comment). */
export function streamError(image: Image, bytes: Uint8Array, tiling: TileGeometry): number {
  const { width: w, height: h, channels: C } = image;
  const tiles = tileGrid(w, h, tiling);
  if (tiles.length === 1) return mse(image, decodeLowrate(bytes).image);
  const parsed = parseLowrate(bytes);
  const jobs = [...inpaintingJobs(parsed)];
  let sum = 0;
  for (const t of tiles) {
    const planes = jobs.map((job) => windowPlane(job, w, t, parsed.version));
    // A window without known pixels in some plane takes its values from beyond its margin: decode it all.
    if (planes.some((p) => p === undefined)) return mse(image, decodeLowrate(bytes).image);
    const ww = t.x1 - t.x0;
    for (let y = t.cy0; y < t.cy1; y++) {
      for (let x = t.cx0; x < t.cx1; x++) {
        const k = (y - t.y0) * ww + x - t.x0;
        const i = (y * w + x) * C;
        if (C === 1) {
          const d = (planes[0] as Float32Array)[k] - image.data[i];
          sum += d * d;
          continue;
        }
        const rgb = ycbcrToRgbPixel(
          (planes[0] as Float32Array)[k],
          (planes[1] as Float32Array)[k],
          (planes[2] as Float32Array)[k],
        );
        for (let c = 0; c < 3; c++) {
          const d = Math.fround(rgb[c]) - image.data[i + c];
          sum += d * d;
        }
      }
    }
  }
  return sum / image.data.length;
}
