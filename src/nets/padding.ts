/** Reflection padding of HWC data to the networks' size multiple (shared by the gan backend and its tonal optimisation). */

/** Reflection index into [0, n) for any integer i (repeats the reflection for pads longer than n). */
export function reflect(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = i % period;
  if (j < 0) j += period;
  return j < n ? j : period - j;
}

/**
 * Pads HWC data by reflection so that both sides become multiples of `multiple` (the padding goes right and
 * bottom; the network's output is cropped back).
 */
export function padReflect(
  data: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  multiple: number,
): { data: Float32Array; width: number; height: number } {
  const pw = Math.max(multiple, Math.ceil(width / multiple) * multiple);
  const ph = Math.max(multiple, Math.ceil(height / multiple) * multiple);
  const out = new Float32Array(pw * ph * channels);
  for (let y = 0; y < ph; y++) {
    const sy = reflect(y, height);
    for (let x = 0; x < pw; x++) {
      const sx = reflect(x, width);
      const s = (sy * width + sx) * channels;
      const d = (y * pw + x) * channels;
      for (let c = 0; c < channels; c++) out[d + c] = data[s + c];
    }
  }
  return { data: out, width: pw, height: ph };
}
