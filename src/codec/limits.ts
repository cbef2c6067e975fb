/**
 * Hard limits of the .mgc format. The parser checks a stream's header against these before it allocates
 * anything, so a small hostile file cannot make the decoder reserve more than the header's validated size
 * needs.
 */

/**
 * Largest width * height a stream may declare: 3 · 2^22 = 12,582,912 pixels (4096 × 3072; a 12 MP camera's
 * 4000 × 3000 or 4032 × 3024 fits). The limit is what the decoder can reconstruct within 1.5 GB of memory in
 * both backends (measured at this size with `npm run bench -- photos --sizes limit`, docs/notes/photos.md);
 * encoders refuse larger images (`--max-pixels` lowers it further).
 */
export const MAX_PIXELS = 3 << 22;

/** Largest width or height (a 1 x 2^26 strip is allowed, a 2^27 x 1 one is not). */
export const MAX_SIDE = 1 << 26;

/** Longest model id (bytes of printable ASCII) and weight hash (hex digits) a "gan" stream may carry. */
export const MAX_MODEL_ID_LENGTH = 255;
export const MAX_WEIGHT_HASH_LENGTH = 128;

/**
 * Fewest hex digits of the weights' SHA-256 a "gan" stream may carry (the encoder writes exactly this many).
 * The decoder compares the stored digits as a prefix of the model's hash, so a shorter hash would let a
 * stream choose how weak the "wrong weights are refused" check is: 16 digits = 64 bits.
 */
export const MIN_WEIGHT_HASH_LENGTH = 16;

/** The most worker threads the networks' windows may run on (`threads`, `--threads`). */
export const MAX_THREADS = 64;
