import { MAX_PIXELS } from "../../src/codec/limits.ts";

/**
 * Largest image (in pixels) the page encodes or decodes: the codec's own limit (3 · 2^22 = 12,582,912), what
 * the tiled networks decode within 1.5 GB. A larger image is refused from its file's header (or the stream's),
 * before anything image-sized is allocated. `npm run bench -- web` measures the tab's peak memory.
 */
export const MAX_PAGE_PIXELS = MAX_PIXELS;
