import type { StoredLevels } from "../image/seams.ts";
import { analyticScoresBatch } from "../mask/analytic.ts";
import { Rng } from "../mask/rng.ts";
import { conv2d } from "./conv.ts";
import { diffusionInterpolation } from "./diffusion-op.ts";
import {
  binariseLogits,
  densityFeature,
  hardSigmoid,
  maxPool2,
  straightThroughRound,
  upsample2,
} from "./ops.ts";
import { pullPush } from "./pullpush.ts";
import { tf } from "./tf.ts";
import { type ConvKernels, type ConvSpec, convKernels } from "./wasm-conv.ts";

/**
 * The three networks of the paper as plain functions of named weights (a Map of tf.Variables), written
 * against tfjs-core only so they run on every backend. Images enter on the [0, 1] scale, NHWC.
 */

export interface ArchOptions {
  /** Channels per dilation branch at the finest level of the hourglasses (doubles per level). */
  width: number;
  /** Down-sampling levels of the hourglasses; images are padded to a multiple of 2^levels. */
  levels: number;
  /** Channels of the critic's first layer (doubles per layer). */
  criticWidth: number;
  /** Stride-2 layers of the critic. */
  criticLayers: number;
  /** Whether both generators see the density as an extra constant input channel (one model, many D). */
  densityInput: boolean;
  /**
   * Whether the inpainting generator also sees a pull-push interpolation of the known pixels and outputs a
   * correction of it: g = clip(pp + 0.2 z, 0, 1) = hardSigmoid(z + 5 (pp - 0.5)) instead of hardSigmoid(z).
   * Models saved without this field predate it (false).
   */
  pullPush: boolean;
  /**
   * Straight-through gradient through the hard sigmoid as well as the rounding (binariseLogits): same
   * forward pass, no dead gradients for saturated logits. Absent in older models (false).
   */
  leakyBinarisation: boolean;
  /**
   * With pullPush: the interpolation the generator corrects is homogeneous diffusion (diffusion-op.ts, exact
   * gradient to the mask) instead of pull-push. Absent in older models (false).
   */
  diffusionInput?: boolean;
  /**
   * The mask generator outputs a correction of the analytic mask scores (src/mask/analytic.ts,
   * log |Δ(G_σ f)|, computed from f outside the graph): z = analytic + z_net. With z_net = 0 it is the
   * analytic mask of Belhachmi et al.; training refines it. Absent in older models (false).
   */
  analyticMask?: boolean;
  /**
   * Rank of a linear 1x1 "bottleneck" convolution in front of the decoder blocks whose dilated branches are
   * at most this many channels wide (up1, up0 and the last block at the defaults): their 5x5 convolutions
   * then read `bottleneck` channels instead of 24-96. Such narrow convolutions cost tfjs-wasm (XNNPACK)
   * about as much as 8 output channels would, in proportion to the input channels read per tap, so this is
   * where inference time goes (docs/notes/nets.md, "bottleneck"). Absent or 0: none (older models).
   */
  bottleneck?: number;
  /**
   * A second hourglass ("ref/…", its own width and levels, the same blocks and bottleneck rule) that corrects
   * the inpainting generator's output: u' = (1 - b) clip(u + 0.2 z', 0, 1) + b f, from [u, b, b f, pp, D].
   * Trained after the joint training with both generators frozen (torch/refine.py): capacity that a CPU can
   * still train. Absent in models without one.
   *
   * `quantised`: the refiner also reads two planes with the steps of the codec's quantiser
   * (quantisationPlanes) and was trained on values stored as the codec stores them, so that it can undo some
   * of the quantisation error the generator spreads from the known pixels (torch/refine.py --quantised).
   */
  refiner?: RefinerOptions;
}

export interface RefinerOptions {
  width: number;
  levels: number;
  quantised?: boolean;
}

/**
 * The refiner's two quantisation planes: 16 / (L - 1) for luma and chroma (1.07 at the codec's default of
 * 16 levels, 0.063 at 256), 0 for exact values — torch/maskgan.py quantisation_planes.
 */
export function quantisationPlanes(n: number, h: number, w: number, stored?: StoredLevels): tf.Tensor4D {
  const step = (levels: number) => 16 / (levels - 1);
  const luma = stored ? step(stored.luma) : 0;
  const chroma = stored ? step(stored.chroma) : 0;
  return tf.mul(tf.ones([n, h, w, 2]), tf.tensor1d([luma, chroma])) as tf.Tensor4D;
}

export const DEFAULT_ARCH: ArchOptions = {
  width: 8,
  levels: 3,
  criticWidth: 8,
  criticLayers: 4,
  densityInput: true,
  pullPush: true,
  leakyBinarisation: true,
};

export const DILATIONS = [1, 2, 5] as const;

/** Sees the input of each decoder block (up*, out) by name, e.g. to fit bottlenecks (factorise.ts). */
export type BlockProbe = (block: string, input: tf.Tensor4D) => void;
const KERNEL = 5;

export type Weights = Map<string, tf.Variable>;
/** What the forward functions need: trainable variables while training, plain tensors at inference. */
export type WeightsView = ReadonlyMap<string, tf.Tensor>;

/** Channels per branch at level l (capped at 4x width so the coarse levels stay small). */
function levelWidth(arch: ArchOptions, level: number): number {
  return arch.width * 2 ** Math.min(level, 2);
}

function addConv(weights: Weights, name: string, cin: number, cout: number, rng: () => number): void {
  // He initialisation for ELU / leaky ReLU: N(0, 2 / fan_in)
  const std = Math.sqrt(2 / (KERNEL * KERNEL * cin));
  const values = new Float32Array(KERNEL * KERNEL * cin * cout);
  for (let i = 0; i < values.length; i++) values[i] = gaussian(rng) * std;
  weights.set(`${name}/kernel`, tf.variable(tf.tensor4d(values, [KERNEL, KERNEL, cin, cout]), true));
  weights.set(`${name}/bias`, tf.variable(tf.zeros([cout]), true));
}

function gaussian(rng: () => number): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

/** Input channels: generator [r, b, b*f (3), pull-push (3)?, D?], mask generator [r, f (3), D?]. */
export function generatorInputs(arch: ArchOptions): number {
  return 5 + (arch.pullPush ? 3 : 0) + (arch.densityInput ? 1 : 0);
}
export function maskGeneratorInputs(arch: ArchOptions): number {
  return 4 + (arch.densityInput ? 1 : 0);
}

/** Adds the weights of one hourglass under `prefix` (e.g. "gen", "mask"). */
export function initHourglass(
  weights: Weights,
  prefix: string,
  cin: number,
  cout: number,
  arch: ArchOptions,
  rng: () => number,
): void {
  const skips: number[] = [];
  let c = cin;
  for (let l = 0; l < arch.levels; l++) {
    const w = levelWidth(arch, l);
    for (const d of DILATIONS) addConv(weights, `${prefix}/down${l}/d${d}`, c, w, rng);
    c = 3 * w;
    skips.push(c);
  }
  for (let l = arch.levels - 1; l >= 0; l--) {
    const w = levelWidth(arch, l);
    const branchIn = addReduce(weights, `${prefix}/up${l}`, c, w, arch, rng);
    for (const d of DILATIONS) addConv(weights, `${prefix}/up${l}/d${d}`, branchIn, w, rng);
    c = 3 * w + skips[l];
  }
  const outIn = addReduce(weights, `${prefix}/out`, c, cout, arch, rng);
  for (const d of DILATIONS) addConv(weights, `${prefix}/out/d${d}`, outIn, cout, rng);
}

/** Whether the decoder block with `cin` inputs and `cout` channels per branch has a bottleneck. */
export function hasBottleneck(arch: ArchOptions, cin: number, cout: number): boolean {
  const k = arch.bottleneck ?? 0;
  return k > 0 && cout <= k && cin > k;
}

/** Adds `${name}/reduce/kernel` [1, 1, cin, k] when the block has a bottleneck; returns its branches' input width. */
function addReduce(
  weights: Weights,
  name: string,
  cin: number,
  cout: number,
  arch: ArchOptions,
  rng: () => number,
): number {
  if (!hasBottleneck(arch, cin, cout)) return cin;
  const k = arch.bottleneck as number;
  // linear projection: unit gain on average (N(0, 1 / cin))
  const values = new Float32Array(cin * k);
  for (let i = 0; i < values.length; i++) values[i] = gaussian(rng) / Math.sqrt(cin);
  weights.set(`${name}/reduce/kernel`, tf.variable(tf.tensor4d(values, [1, 1, cin, k]), true));
  return k;
}

/** The bottleneck projection of a block's input, when it has one. */
function reduce(weights: WeightsView, name: string, x: tf.Tensor4D): tf.Tensor4D {
  const kernel = weights.get(`${name}/reduce/kernel`) as tf.Tensor4D | undefined;
  if (!kernel) return x;
  return trainable(kernel) ? conv2d(x, kernel) : tf.conv2d(x, kernel, 1, "same");
}

function get(weights: WeightsView, name: string): tf.Tensor {
  const v = weights.get(name);
  if (!v) throw new Error(`missing weight ${name}`);
  return v;
}

/** CBlock core: three parallel 5x5 convolutions (dilation 1, 2, 5) with ELU, concatenated. */
function branches(weights: WeightsView, name: string, input: tf.Tensor4D): tf.Tensor4D {
  const x = reduce(weights, name, input);
  let training = false;
  const outs = DILATIONS.map((d) => {
    const kernel = get(weights, `${name}/d${d}/kernel`) as tf.Tensor4D;
    const bias = get(weights, `${name}/d${d}/bias`);
    training ||= trainable(kernel);
    return trainable(kernel)
      ? (tf.elu(tf.add(conv2d(x, kernel, { dilation: d }), bias)) as tf.Tensor4D)
      : fusedConv(x, kernel, bias, d, "elu");
  });
  return training ? (tf.concat(outs, 3) as tf.Tensor4D) : concatChannels(outs);
}

/**
 * The WebAssembly convolution kernels (wasm-conv.ts), when they can serve: on the wasm backend and with no
 * gradient being recorded. They make tensors tfjs has no gradient for, so inference through the fixed
 * networks that is differentiated (the gan backend's tonal optimisation) stays on tfjs' own ops.
 */
function inferenceKernels(): ConvKernels | null {
  return tf.engine().isTapeOn() ? null : convKernels();
}

/** A block's three dilated branches, for the WebAssembly convolution kernels. */
function convSpecs(weights: WeightsView, name: string): ConvSpec[] {
  return DILATIONS.map((d) => ({
    kernel: get(weights, `${name}/d${d}/kernel`) as tf.Tensor4D,
    bias: get(weights, `${name}/d${d}/bias`),
    dilation: d,
  }));
}

/**
 * tf.concat along the channels of NHWC tensors. wasm's Concat copies one innermost run per
 * pixel (4-32 floats here) in JS; stacking along a new leading axis (one block copy per input) and a native
 * transpose is faster there. The result is the same; used at inference.
 */
function concatChannels(parts: tf.Tensor4D[]): tf.Tensor4D {
  if (tf.getBackend() !== "wasm") return tf.concat(parts, 3) as tf.Tensor4D;
  const kernels = inferenceKernels();
  if (kernels) return kernels.concat(parts);
  // its own scope: the padded copies below are full-size and would otherwise live as long as the caller's
  return tf.tidy(() => concatChannelsWasm(parts));
}

function concatChannelsWasm(parts: tf.Tensor4D[]): tf.Tensor4D {
  const [n, h, w, c] = parts[0].shape;
  if (parts.some((p) => p.shape[3] !== c)) {
    // unequal channel counts (the networks' inputs, 1-3 channels per part): copied out and interleaved in
    // JS, about half the time of zero-padding each part to its place and adding them natively (60 -> 32 ms
    // for the generator's 11 channels at 768×512), and a plain copy of the values
    const pixels = n * h * w;
    const total = parts.reduce((sum, p) => sum + p.shape[3], 0);
    const out = new Float32Array(pixels * total);
    let offset = 0;
    for (const part of parts) {
      const k = part.shape[3];
      const data = part.dataSync() as Float32Array;
      for (let i = 0, o = offset, s = 0; i < pixels; i++, o += total, s += k) {
        for (let j = 0; j < k; j++) out[o + j] = data[s + j];
      }
      offset += k;
    }
    return tf.tensor4d(out, [n, h, w, total]);
  }
  // [parts, pixels, c] -> [pixels, parts, c]: a 3-D transpose, which the wasm backend does faster than the
  // equivalent 5-D one of [parts, n, h, w, c]
  const stacked = tf.reshape(tf.stack(parts, 0), [parts.length, n * h * w, c]);
  return tf.reshape(tf.transpose(stacked, [1, 0, 2]), [n, h, w, parts.length * c]);
}

/**
 * Weights that are tf.Variables are being trained: they need conv2d's own gradient (wasm has none for
 * filters or dilations). Plain tensors (inference) take tfjs' fused convolution with "same" padding, bias
 * and activation in one kernel: the same values (the padding of conv2d is TF's "same"), 25% faster on wasm
 * (`npm run bench -- nets --inference-only`).
 */
function trainable(kernel: tf.Tensor): boolean {
  return kernel instanceof tf.Variable;
}

function fusedConv(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  bias: tf.Tensor,
  dilation: number,
  activation: "elu" | "linear",
): tf.Tensor4D {
  return tf.fused.conv2d({
    x,
    // A fresh copy of the kernel for each call: tfjs-wasm caches an XNNPACK operator per filter tensor,
    // and each operator keeps an indirection buffer of ~100 bytes per output pixel until its filter is
    // disposed. With the shared kernels every convolution of the networks held one (~1.6 KB per pixel in
    // all, the bulk of inference memory); the copy dies with the block's tidy scope, and its operator with
    // it. Packing a 5×5 kernel again costs microseconds.
    filter: tf.add(kernel, 0) as tf.Tensor4D,
    strides: 1,
    pad: "same",
    dilations: dilation,
    bias,
    activation,
  });
}

/**
 * The hourglass: CBlocks (branches + 2x2 max-pool) down, TCBlocks (branches + 2x2 upsampling) up with skip
 * connections, and a last block without upsampling whose three dilated branches are summed into `cout`
 * pre-activation channels (the caller applies the hard sigmoid). H and W must be multiples of 2^levels.
 */
export function hourglass(
  weights: WeightsView,
  prefix: string,
  /**
   * The input, or its parts to be joined along the channels (at inference: the kernels read them without
   * joining them; the parts stay the caller's).
   */
  x: tf.Tensor4D | tf.Tensor4D[],
  arch: ArchOptions,
  probe?: BlockProbe,
  /** Dispose x once the first block has read it (at inference, on the kernels): the caller is done with it. */
  consume = false,
): tf.Tensor4D {
  const skips: tf.Tensor4D[] = [];
  const training = trainable(get(weights, `${prefix}/out/d1/kernel`));
  const kernels = training || probe ? null : inferenceKernels();
  if (kernels) return hourglassOnKernels(weights, prefix, x, arch, kernels, consume);
  if (Array.isArray(x)) {
    // joined here, and let go after unless a gradient is being recorded through it
    const joined = training ? (tf.concat(x, 3) as tf.Tensor4D) : concatChannels(x);
    const out = hourglass(weights, prefix, joined, arch, probe);
    if (!training && !tf.engine().isTapeOn()) joined.dispose();
    return out;
  }
  // At inference each block runs in its own tidy scope and the blocks' inputs are freed as soon as they
  // are consumed: only the skips and the current activation stay alive, not every intermediate of the
  // whole network (a 768×512 window peaked at ~2 GB of tensor memory otherwise). Training keeps them all:
  // the gradient tape needs them.
  const step = (f: () => tf.Tensor4D, consumed: tf.Tensor4D): tf.Tensor4D => {
    if (training) return f();
    const out = tf.tidy(f);
    if (consumed !== x && !skips.includes(consumed)) consumed.dispose();
    return out;
  };
  let h = x;
  for (let l = 0; l < arch.levels; l++) {
    const input = h;
    const e = step(() => branches(weights, `${prefix}/down${l}`, input), input);
    skips.push(e);
    // training: our own gradient (wasm's MaxPoolGrad is wrong for windows <= 0, see maxPool2)
    h = training ? maxPool2(e) : tf.maxPool(e, 2, 2, "valid");
  }
  for (let l = arch.levels - 1; l >= 0; l--) {
    probe?.(`${prefix}/up${l}`, h);
    const input = h;
    const skip = skips[l];
    h = step(() => {
      const e = branches(weights, `${prefix}/up${l}`, input);
      // wasm's native nearest-neighbour resize at inference (the same values as upsample2)
      if (training) return tf.concat([upsample2(e), skip], 3) as tf.Tensor4D;
      const up = tf.image.resizeNearestNeighbor(e, [2 * e.shape[1], 2 * e.shape[2]]) as tf.Tensor4D;
      return concatChannels([up, skip]);
    }, input);
    if (!training) skip.dispose();
  }
  probe?.(`${prefix}/out`, h);
  const input = h;
  return step(() => {
    let out: tf.Tensor4D | undefined;
    const r = reduce(weights, `${prefix}/out`, input);
    for (const d of DILATIONS) {
      const kernel = get(weights, `${prefix}/out/d${d}/kernel`) as tf.Tensor4D;
      const bias = get(weights, `${prefix}/out/d${d}/bias`);
      const y = trainable(kernel)
        ? (tf.add(conv2d(r, kernel, { dilation: d }), bias) as tf.Tensor4D)
        : fusedConv(r, kernel, bias, d, "linear");
      out = out ? (tf.add(out, y) as tf.Tensor4D) : y;
    }
    return out as tf.Tensor4D;
  }, input);
}

/**
 * The hourglass at inference on the WebAssembly convolution kernels (wasm-conv.ts): the same values as the
 * tfjs path of `hourglass`, bit for bit. Each up block's output is not upsampled and concatenated with its
 * skip connection as a tensor: the next block's bottleneck projection reads both directly (at 768 × 512 the
 * last such tensor is 24 channels at full resolution, 38 MB written and read again).
 */
function hourglassOnKernels(
  weights: WeightsView,
  prefix: string,
  x: tf.Tensor4D | tf.Tensor4D[],
  arch: ArchOptions,
  kernels: ConvKernels,
  consume: boolean,
): tf.Tensor4D {
  /** A block's input: a tensor, or an up block's output still to be upsampled and joined to its skip. */
  type Input = tf.Tensor4D | { low: tf.Tensor4D; skip: tf.Tensor4D };
  const project = (name: string, input: Input): tf.Tensor4D => {
    const kernel = weights.get(`${name}/reduce/kernel`) as tf.Tensor4D | undefined;
    if (input instanceof tf.Tensor)
      return kernel ? kernels.run(input, [{ kernel, dilation: 1 }], "linear") : input;
    if (kernel) return kernels.projectUpsampled(input.low, input.skip, kernel);
    const [, h, w] = input.skip.shape;
    return concatChannels([tf.image.resizeNearestNeighbor(input.low, [h, w]) as tf.Tensor4D, input.skip]);
  };
  // each block in its own scope, its input freed once consumed (as in `hourglass`); x is the caller's
  const block = (name: string, input: Input, mode: "elu" | "sum"): tf.Tensor4D => {
    const mine = !(input instanceof tf.Tensor) || input !== x || consume;
    const out = tf.tidy(() => {
      const projected = project(name, input);
      // the input goes as soon as it is projected (a tensor only if projected is not the input itself): the
      // branches' outputs need not share the memory with it
      if (!(input instanceof tf.Tensor)) {
        input.low.dispose();
        input.skip.dispose();
      } else if (mine && projected !== input) {
        input.dispose();
      }
      return kernels.run(projected, convSpecs(weights, name), mode);
    });
    if (input instanceof tf.Tensor && mine) input.dispose();
    return out;
  };
  // the first block: parts of the input go to its branches unjoined (a 1 × 1 projection would need them
  // joined; that join is the block's to let go)
  const first = `${prefix}/down0`;
  const firstOut = (parts: tf.Tensor4D[]): tf.Tensor4D =>
    weights.get(`${first}/reduce/kernel`)
      ? block(first, kernels.concat(parts), "elu")
      : tf.tidy(() => kernels.runParts(parts, convSpecs(weights, first), "elu"));
  const skips: tf.Tensor4D[] = [Array.isArray(x) ? firstOut(x) : block(first, x, "elu")];
  let h: Input = tf.maxPool(skips[0], 2, 2, "valid");
  for (let l = 1; l < arch.levels; l++) {
    const e = block(`${prefix}/down${l}`, h, "elu");
    skips.push(e);
    h = tf.maxPool(e, 2, 2, "valid");
  }
  for (let l = arch.levels - 1; l >= 0; l--) {
    h = { low: block(`${prefix}/up${l}`, h, "elu"), skip: skips[l] };
  }
  return block(`${prefix}/out`, h, "sum");
}

/** The analytic mask scores of each sample (a constant: f is data), [N, H, W, 1]. */
function analyticPlane(f: tf.Tensor4D, densities: number[]): tf.Tensor4D {
  const [n, h, w, c] = f.shape;
  return tf.tensor4d(analyticScoresBatch(f.dataSync() as Float32Array, n, h, w, c, densities), [n, h, w, 1]);
}

/** A constant [N, H, W, 1] channel holding each sample's density feature. */
export function densityPlane(densities: number[], h: number, w: number): tf.Tensor4D {
  const n = densities.length;
  return tf.mul(
    tf.ones([n, h, w, 1]) as tf.Tensor4D,
    tf.tensor4d(densities.map(densityFeature), [n, 1, 1, 1]),
  ) as tf.Tensor4D;
}

/** Whether the inpainting generator of `arch` sees a diffusion interpolation of the known pixels. */
export function takesDiffusionInput(arch: ArchOptions): boolean {
  return arch.pullPush && arch.diffusionInput === true;
}

/** What the tiled decoder hands a window's inpainting generator beside its inputs (gan-backend.ts runWindow). */
export interface WindowInputs {
  /**
   * The diffusion input when the caller has solved it already (diffusion-op.ts diffusionInput, the same values
   * at inference: the tiled decoder solves it on its main thread); default: solved here.
   */
  interpolation?: tf.Tensor4D;
  /** f and r are the call's to dispose of, at inference as soon as they are read: less peak memory. */
  consume?: boolean;
}

/**
 * Inpainting generator g(r, b, Bf) with the inpainting constraint of Eq. (1) applied:
 * u = (1 - b) g + b f. Returns u (and the raw generator output g).
 */
export function inpaintingGenerator(
  weights: WeightsView,
  arch: ArchOptions,
  f: tf.Tensor4D,
  b: tf.Tensor4D,
  r: tf.Tensor4D,
  densities: number[],
  probe?: BlockProbe,
  stored?: StoredLevels,
  window: WindowInputs = {},
): { u: tf.Tensor4D; g: tf.Tensor4D } {
  const [, h, w] = f.shape;
  const training = trainable(get(weights, "gen/out/d1/kernel"));
  // at inference each full-resolution tensor is let go as soon as it is consumed (the window's peak memory is
  // what bounds the decoder's tiles); training keeps them for the gradient
  const inference = !training && !tf.engine().isTapeOn();
  const consume = inference && window.consume === true;
  const known = tf.mul(b, f) as tf.Tensor4D;
  const inputs: tf.Tensor4D[] = [r, b, known];
  const pp = !arch.pullPush
    ? undefined
    : takesDiffusionInput(arch)
      ? (window.interpolation ?? diffusionInterpolation(f, b))
      : pullPush(known, b);
  if (consume) f.dispose(); // read only through known and pp from here
  if (pp) inputs.push(pp);
  const dPlane = arch.densityInput ? densityPlane(densities, h, w) : undefined;
  if (dPlane) inputs.push(dPlane);
  // at inference the parts themselves: the first block reads them without a joined copy
  const z = hourglass(weights, "gen", training ? (tf.concat(inputs, 3) as tf.Tensor4D) : inputs, arch, probe);
  if (consume) r.dispose();
  const { u, g } = keepOnly(inference, () => {
    const g = (pp ? tf.clipByValue(tf.add(pp, tf.mul(z, 0.2)), 0, 1) : hardSigmoid(z)) as tf.Tensor4D;
    return { g, u: tf.add(tf.mul(tf.sub(1, b), g), known) as tf.Tensor4D };
  });
  if (inference) z.dispose();
  if (!arch.refiner || !pp) return { u, g };
  // the refiner returns its own g
  if (inference) g.dispose();
  return refine(weights, arch, arch.refiner, u, b, known, pp, dPlane, probe, stored);
}

/**
 * f's result, with every other tensor f made disposed when `inference` (tf.tidy); during training f simply
 * runs, its intermediates kept for the gradient.
 */
function keepOnly(
  inference: boolean,
  f: () => { u: tf.Tensor4D; g: tf.Tensor4D },
): { u: tf.Tensor4D; g: tf.Tensor4D } {
  return inference ? tf.tidy(f) : f();
}

/** The refiner's correction of u (ArchOptions.refiner), from the generator's inputs with u in place of r. */
function refine(
  weights: WeightsView,
  arch: ArchOptions,
  refiner: RefinerOptions,
  u: tf.Tensor4D,
  b: tf.Tensor4D,
  known: tf.Tensor4D,
  pp: tf.Tensor4D,
  dPlane: tf.Tensor4D | undefined,
  probe?: BlockProbe,
  stored?: StoredLevels,
): { u: tf.Tensor4D; g: tf.Tensor4D } {
  const inputs = [u, b, known, pp];
  if (dPlane) inputs.push(dPlane);
  if (refiner.quantised) {
    const [n, h, w] = u.shape;
    inputs.push(quantisationPlanes(n, h, w, stored));
  }
  const training = trainable(get(weights, "ref/out/d1/kernel"));
  const inference = !training && !tf.engine().isTapeOn();
  const x = training ? (tf.concat(inputs, 3) as tf.Tensor4D) : inputs;
  const z = hourglass(weights, "ref", x, { ...arch, ...refiner }, probe);
  if (inference) {
    // read by the first block only (inpaintingGenerator made pp and dPlane for the two networks' inputs)
    pp.dispose();
    dPlane?.dispose();
    if (refiner.quantised) inputs[inputs.length - 1].dispose();
  }
  return keepOnly(inference, () => {
    const g = tf.clipByValue(tf.add(u, tf.mul(z, 0.2)), 0, 1) as tf.Tensor4D;
    return { u: tf.add(tf.mul(tf.sub(1, b), g), known) as tf.Tensor4D, g };
  });
}

/**
 * Mask generator m(r, f): the hourglass ending in the binarisation block. Returns the pre-activation logits
 * z (used to rank pixels for an exact density at inference), the confidence c = hardSigmoid(z) and the
 * binary mask b = round(c) with a straight-through gradient.
 */
export function maskGenerator(
  weights: WeightsView,
  arch: ArchOptions,
  f: tf.Tensor4D,
  r: tf.Tensor4D,
  densities: number[],
  probe?: BlockProbe,
  /**
   * The analytic mask scores when the caller has them (tiled inference computes them once for the whole
   * image: they are mean-free over it, so a window's own would be offset); default: from f.
   */
  analytic?: tf.Tensor4D,
): { z: tf.Tensor4D; c: tf.Tensor4D; b: tf.Tensor4D } {
  const [, h, w] = f.shape;
  const inputs: tf.Tensor4D[] = [r, f];
  if (arch.densityInput) inputs.push(densityPlane(densities, h, w));
  const x = trainable(get(weights, "mask/out/d1/kernel"))
    ? (tf.concat(inputs, 3) as tf.Tensor4D)
    : concatChannels(inputs);
  const zNet = hourglass(weights, "mask", x, arch, probe);
  const z = arch.analyticMask ? (tf.add(zNet, analytic ?? analyticPlane(f, densities)) as tf.Tensor4D) : zNet;
  const c = hardSigmoid(z) as tf.Tensor4D;
  const b = arch.leakyBinarisation ? binariseLogits(z) : straightThroughRound(c);
  return { z, c, b: b as tf.Tensor4D };
}

export function initCritic(weights: Weights, arch: ArchOptions, rng: () => number): void {
  let c = 4;
  for (let l = 0; l < arch.criticLayers; l++) {
    const w = arch.criticWidth * 2 ** l;
    addConv(weights, `critic/f${l}`, c, w, rng);
    c = w;
  }
  const values = new Float32Array(c);
  for (let i = 0; i < c; i++) values[i] = gaussian(rng) / Math.sqrt(c);
  weights.set("critic/dense/kernel", tf.variable(tf.tensor2d(values, [c, 1]), true));
  weights.set("critic/dense/bias", tf.variable(tf.zeros([1]), true));
}

/** Each output filter scaled to unit 2-norm (the critic's Lipschitz constraint, as a reparameterisation). */
function unitNorm(kernel: tf.Tensor): tf.Tensor {
  const axes = kernel.shape.slice(0, -1).map((_, i) => i);
  return tf.div(kernel, tf.sqrt(tf.add(tf.sum(tf.square(kernel), axes, true), 1e-12)));
}

/**
 * Critic d(u, b): FBlocks of 5x5 stride-2 convolutions with leaky ReLU (0.2) and unit-norm filters, then a
 * spatial mean and a unit-norm linear layer. Returns one score per sample, shape [N].
 */
export function critic(weights: WeightsView, arch: ArchOptions, u: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor1D {
  let h = tf.concat([u, b], 3) as tf.Tensor4D;
  for (let l = 0; l < arch.criticLayers; l++) {
    const k = unitNorm(get(weights, `critic/f${l}/kernel`)) as tf.Tensor4D;
    h = tf.leakyRelu(
      tf.add(conv2d(h, k, { stride: 2 }), get(weights, `critic/f${l}/bias`)),
      0.2,
    ) as tf.Tensor4D;
  }
  const pooled = tf.mean(h, [1, 2]) as tf.Tensor2D;
  const score = tf.add(
    tf.matMul(pooled, unitNorm(get(weights, "critic/dense/kernel")) as tf.Tensor2D),
    get(weights, "critic/dense/bias"),
  );
  return tf.reshape(score, [-1]) as tf.Tensor1D;
}

/** All weights of the three networks, initialised from a seed. */
export function initWeights(arch: ArchOptions, seed: number): Weights {
  const generator = new Rng(seed);
  const rng = () => generator.next();
  const weights: Weights = new Map();
  initHourglass(weights, "gen", generatorInputs(arch), 3, arch, rng);
  initHourglass(weights, "mask", maskGeneratorInputs(arch), 1, arch, rng);
  initCritic(weights, arch, rng);
  // the out blocks sum three branches: shrink them so the initial output sits inside the hard sigmoid
  // (and, with pull-push, so that the generator starts close to the interpolation)
  for (const [name, v] of weights) {
    if (/^mask\/out\/d\d\/kernel$/.test(name)) v.assign(tf.mul(v, 0.3));
    if (/^gen\/out\/d\d\/kernel$/.test(name)) v.assign(tf.mul(v, arch.pullPush ? 0.05 : 0.3));
  }
  return weights;
}

export function parameterCount(weights: Weights, prefix?: string): number {
  let n = 0;
  for (const [name, v] of weights) if (!prefix || name.startsWith(`${prefix}/`)) n += v.size;
  return n;
}
