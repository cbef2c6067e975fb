/**
 * The networks' convolutions on maskcodec's WebAssembly kernels (src/nets/wasm-conv.ts) against tfjs' own
 * (XNNPACK) on the wasm backend, one thread, measured in the same run:
 *
 * 1. Per block shape of the width-4 hourglasses, at the resolution it runs at for a 768 × 512 image: a block's
 *    three dilated 5 × 5 branches with bias, concatenated, then ELU (tfjs: three fused convolutions and a
 *    concatenation, as the tfjs path does); the last block's three branches summed; the 1 × 1 projections.
 *    Best of --repeats, milliseconds; both must give the same values (checked, every element).
 * 2. The gan decoder's inpainting of a whole image in-process (default: kodim01 at 5 %, the default model),
 *    kernels on and off alternating, median of --repeats CPU seconds; the decoded images must be identical.
 *
 *   npm run bench -- convs [--repeats 5] [--image PATH] [--density 0.05]
 */

import { loadavg } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { encode } from "../src/api.ts";
import { storedLevels } from "../src/codec/quantiser.ts";
import { parseStream } from "../src/codec/stream.ts";
import { readImage } from "../src/image/io.ts";
import { initBackend } from "../src/nets/backend.ts";
import { loadGanModel } from "../src/nets/gan-backend.ts";
import { registeredModelDir } from "../src/nets/registry.ts";
import { tf } from "../src/nets/tf.ts";
import { type ConvSpec, convKernels, setConvKernels } from "../src/nets/wasm-conv.ts";

const KODIM01 = join(import.meta.dirname, "..", "..", "shared", "datasets", "kodak", "kodim01.png");

/** (name, input channels, output channels, kernel size, downscale of 768 × 512, mode) */
const SHAPES: [string, number, number, number, number, "elu" | "sum" | "linear"][] = [
  ["gen down0", 9, 4, 5, 1, "elu"],
  ["ref down0", 11, 4, 5, 1, "elu"],
  ["down1", 12, 8, 5, 2, "elu"],
  ["down2", 24, 16, 5, 4, "elu"],
  ["up2", 48, 16, 5, 8, "elu"],
  ["up1", 8, 8, 5, 4, "elu"],
  ["up0", 8, 4, 5, 2, "elu"],
  ["gen/ref out (sum)", 8, 3, 5, 1, "sum"],
  ["mask out (sum)", 8, 1, 5, 1, "sum"],
  ["out projection 1x1", 24, 8, 1, 1, "linear"],
];

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function random(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648 - 0.5;
  });
}

function tfjsBlock(x: tf.Tensor4D, specs: ConvSpec[], mode: "elu" | "sum" | "linear"): tf.Tensor4D {
  if (mode === "linear") return tf.conv2d(x, specs[0].kernel, 1, "same");
  const outs = specs.map((s) =>
    tf.fused.conv2d({
      x,
      filter: tf.add(s.kernel, 0) as tf.Tensor4D,
      strides: 1,
      pad: "same",
      dilations: s.dilation,
      bias: s.bias,
    }),
  );
  if (mode === "sum") return tf.add(tf.add(outs[0], outs[1]), outs[2]) as tf.Tensor4D;
  return tf.elu(tf.concat(outs, 3)) as tf.Tensor4D;
}

function time<T extends tf.Tensor>(f: () => T): { ms: number; values: Float32Array } {
  const t0 = performance.now();
  const out = f();
  const values = out.dataSync() as Float32Array;
  const ms = performance.now() - t0;
  out.dispose();
  return { ms, values };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      repeats: { type: "string", default: "5" },
      image: { type: "string", default: KODIM01 },
      density: { type: "string", default: "0.05" },
    },
  });
  const repeats = Number(values.repeats);
  await initBackend("wasm");
  const kernels = convKernels();
  if (!kernels) throw new Error("the WebAssembly convolution kernels cannot run here");
  console.log(
    `# convolutions: tfjs (XNNPACK) against maskcodec's kernels, best of ${repeats}; load ${loadavg()[0].toFixed(2)}`,
  );
  console.log("| block | input | tfjs ms | kernels ms | speed-up | same values |");
  console.log("| --- | --- | ---: | ---: | ---: | --- |");
  for (const [name, cin, cout, k, down, mode] of SHAPES) {
    const [h, w] = [512 / down, 768 / down];
    const x = tf.tensor4d(random(h * w * cin, cin), [1, h, w, cin]);
    const specs: ConvSpec[] = (k === 1 ? [1] : [1, 2, 5]).map((dilation, i) => ({
      kernel: tf.tensor4d(random(k * k * cin * cout, 7 + i), [k, k, cin, cout]),
      bias: k === 1 ? undefined : tf.tensor1d(random(cout, 11 + i)),
      dilation,
    }));
    let [bestTf, bestKernels] = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
    let same = true;
    for (let r = 0; r < repeats; r++) {
      const a = time(() => tf.tidy(() => tfjsBlock(x, specs, mode)));
      const b = time(() => tf.tidy(() => kernels.run(x, specs, mode)));
      bestTf = Math.min(bestTf, a.ms);
      bestKernels = Math.min(bestKernels, b.ms);
      same &&= a.values.every((v, i) => v === b.values[i]);
    }
    console.log(
      `| ${name} | ${h}×${w}×${cin} → ${cout} | ${bestTf.toFixed(1)} | ${bestKernels.toFixed(1)} | ${(bestTf / bestKernels).toFixed(2)}× | ${same ? "yes" : "NO"} |`,
    );
    x.dispose();
  }

  const image = await readImage(values.image);
  const density = Number(values.density);
  const parsed = parseStream((await encode(image, { density })).bytes);
  const model = await loadGanModel(registeredModelDir(parsed.header.modelId));
  const stored = storedLevels(parsed.header.quantiser, parsed.header.colour);
  const inpaint = async (on: boolean) => {
    setConvKernels(on);
    const c0 = process.cpuUsage();
    const out = await model.inpainter().inpaint(parsed.known, parsed.mask, stored);
    const c = process.cpuUsage(c0);
    return { s: (c.user + c.system) / 1e6, data: out.data };
  };
  await inpaint(true); // the first call of a process allocates the tensor memory later calls reuse
  const times = { tfjs: [] as number[], kernels: [] as number[] };
  let same = true;
  for (let r = 0; r < repeats; r++) {
    const a = await inpaint(false);
    const b = await inpaint(true);
    times.tfjs.push(a.s);
    times.kernels.push(b.s);
    same &&= a.data.every((v, i) => v === b.data[i]);
  }
  setConvKernels(true);
  const [t, k] = [median(times.tfjs), median(times.kernels)];
  console.log(
    `\n# ${parsed.header.modelId} inpainting of ${values.image.split("/").pop()} (${image.width}×${image.height}) at ${density}, in-process, median of ${repeats} CPU s: ` +
      `tfjs ${t.toFixed(3)}, kernels ${k.toFixed(3)}, ${(t / k).toFixed(2)}× faster; same pixels: ${same ? "yes" : "NO"}; load ${loadavg()[0].toFixed(2)}`,
  );
}
