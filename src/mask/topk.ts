/**
 * Exact-count binarisation of score maps: per sample (consecutive blocks of `pixels` scores), the `count`
 * highest scores become 1; among equal scores at the threshold, lower indices win (deterministic).
 */
export function topCountMask(scores: Float32Array, pixels: number, count: number): Uint8Array {
  const n = Math.floor(scores.length / pixels);
  const out = new Uint8Array(n * pixels);
  const k = Math.max(0, Math.min(pixels, count));
  if (k === 0) return out;
  for (let s = 0; s < n; s++) {
    const base = s * pixels;
    const block = scores.subarray(base, base + pixels);
    const sorted = Float32Array.from(block).sort();
    const threshold = sorted[pixels - k]; // the k-th largest value
    let above = 0;
    for (let i = 0; i < pixels; i++) if (block[i] > threshold) above++;
    let ties = k - above;
    for (let i = 0; i < pixels; i++) {
      if (block[i] > threshold) out[base + i] = 1;
      else if (block[i] === threshold && ties > 0) {
        out[base + i] = 1;
        ties--;
      }
    }
  }
  return out;
}
