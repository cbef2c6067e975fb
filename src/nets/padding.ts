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
 * bottom; the network's output is cropped back). Float32 data that needs no padding is returned as it is,
 * not copied (the tiled networks' windows mostly need none).
 */
export function padReflect(
  data: Float32Array | Uint8Array,
  width: number,
  height: number,
  channels: number,
  multiple: number,
): { data: Float32Array; width: number; height: number } {
  const pw = Math.max(multiple, Math.ceil(width / multiple) * multiple);
  const ph = Math.max(multiple, Math.ceil(height / multiple) * multiple);
  if (pw === width && ph === height && data instanceof Float32Array) return { data, width, height };
  const out = new Float32Array(pw * ph * channels);
  const row = width * channels;
  for (let y = 0; y < ph; y++) {
    const sy = reflect(y, height);
    // the row's own pixels in one copy, then its reflected columns
    out.set(data.subarray(sy * row, sy * row + row), y * pw * channels);
    for (let x = width; x < pw; x++) {
      const s = (sy * width + reflect(x, width)) * channels;
      const d = (y * pw + x) * channels;
      for (let c = 0; c < channels; c++) out[d + c] = data[s + c];
    }
  }
  return { data: out, width: pw, height: ph };
}
