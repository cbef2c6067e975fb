/**
 * Smallest integer r >= 1 with r² · count >= (num/den)² · n, i.e. ⌈(num/den) / √(count/n)⌉, capped at `max`;
 * integer arithmetic only (no Math.sqrt), so that encoder and decoder agree on every platform.
 */
export function spacingMultiple(num: number, den: number, count: number, n: number, max: number): number {
  let r = 1;
  while (r < max && r * r * count * den * den < num * num * n) r++;
  return r;
}
