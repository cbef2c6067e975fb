/**
 * Largest image (in pixels) the page encodes or decodes. Above it the tab would pass its memory budget
 * (bench/web.ts measures the peak); larger images are for the CLI.
 */
export const MAX_PAGE_PIXELS = 4_000_000;
