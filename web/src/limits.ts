/**
 * Largest image (in pixels) the page encodes or decodes; a larger one is refused from its file's header (or
 * the stream's), before anything image-sized is allocated. The gan networks run over the whole image at once,
 * about 5.5 KB of tab memory per pixel (`npm run bench -- web`: 2.4 GB peak encoding 775×516), and a tab's
 * WebAssembly memory ends at 4 GB (a 2-megapixel encode aborted there): 600,000 pixels keep clear of it.
 * Larger images are for the CLI.
 */
export const MAX_PAGE_PIXELS = 600_000;
