import { MAX_PIXELS } from "../../src/codec/limits.ts";

/**
 * Largest image (in pixels) the page encodes or decodes: the codec's own limit (3 · 2^22 = 12,582,912), what
 * the tiled networks decode within 1.5 GB. A larger image is refused from its file's header (or the stream's),
 * before anything image-sized is allocated. `npm run bench -- web` measures the tab's peak memory.
 */
export const MAX_PAGE_PIXELS = MAX_PIXELS;

/**
 * Largest image the page compares with JPEG and WebP (and measures PSNR and SSIM for): the comparison holds
 * the original and each candidate as float images beside the networks' memory, which at 12 MP took the tab to
 * 1.64 GB (`npm run bench -- web`). Larger images are encoded and decoded without it.
 */
export const COMPARE_MAX_PIXELS = 4_000_000;
