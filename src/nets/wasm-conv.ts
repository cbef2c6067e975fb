import { readFileSync } from "node:fs";
import { join } from "node:path";
import { tf } from "./tf.ts";

/**
 * The networks' convolutions at inference on maskcodec's own WebAssembly kernels (wasm/conv-kernels.c),
 * instantiated on the tfjs wasm backend's memory so that they read its tensors and write its tensors in place.
 *
 * Why: tfjs-wasm runs XNNPACK, whose kernels compute 8 output channels at a time; the width-4 networks'
 * full-resolution branches have 3 or 4, so half their work was wasted, and each block's three branches were
 * then concatenated in a further pass. These kernels compute 4 outputs per vector, share each weight vector
 * between several pixels, and write each branch straight into its channels of the block's output. Each output
 * is summed in XNNPACK's order, so the values are the same bit for bit (test/nets/wasm-conv.test.ts compares
 * every shape the networks use): a decoded image does not depend on which path ran, and the tfjs path stays
 * for other backends and for training. Measured at 768 × 512 (`npm run bench -- nets`): the three 5 × 5
 * branches of a full-resolution block about 3 times faster.
 *
 * Relies on two internals of tfjs-backend-wasm 4.x: the Emscripten module's exported memory
 * (`backend.wasm.asm.memory`) and each tensor's byte offset in it (`backend.dataIdMap`). If either is missing
 * (another version, another backend), `convKernels()` is null and the networks use tfjs' convolutions.
 */

type ProjectExport = (
  low: number,
  cl: number,
  skip: number,
  cs: number,
  h: number,
  w: number,
  weights: number,
  o: number,
  out: number,
) => void;

type InterleaveExport = (
  src: number,
  k: number,
  n: number,
  dst: number,
  total: number,
  offset: number,
) => void;

type ConvExport = (
  x: number,
  h: number,
  w: number,
  c: number,
  k: number,
  weights: number,
  bias: number,
  o: number,
  dilation: number,
  out: number,
  outStride: number,
  outOffset: number,
  accumulate: number,
) => void;

type QuantiseExport = (x: number, h: number, w: number, c: number, pad: number, xq: number) => number;
type MaxAbsExport = (x: number, n: number) => number;
type QuantiseFrameExport = (h: number, w: number, c: number, pad: number, xq: number) => void;
type QuantisePartExport = (
  x: number,
  h: number,
  w: number,
  cPart: number,
  offset: number,
  c: number,
  pad: number,
  largest: number,
  xq: number,
) => number;

type ConvQuantisedExport = (
  xq: number,
  h: number,
  w: number,
  c2: number,
  pad: number,
  k: number,
  weights: number,
  bias: number,
  winv: number,
  xinv: number,
  o: number,
  dilation: number,
  out: number,
  outStride: number,
  outOffset: number,
  mode: number,
) => void;

/**
 * The arithmetic of the networks' convolutions on the kernels: "float32", the same values as tfjs' own
 * convolutions (format versions 1 and 3), or "int16", the products on 16-bit integers (format version 5's
 * decoder: a block 1.2–1.5 times faster at full resolution and 1.7–1.9 times at the coarsest level;
 * wasm/conv-kernels.c says how, docs/notes/nets.md what it costs in quality).
 */
export type NetworkArithmetic = "float32" | "int16";

let arithmetic: NetworkArithmetic = "float32";

/**
 * Runs f with the kernels' convolutions in `mode` (the networks' calls inside f are synchronous, so nothing
 * else runs between). Where the kernels cannot run, the networks use tfjs' float convolutions whatever the mode.
 */
export function withArithmetic<T>(mode: NetworkArithmetic, f: () => T): T {
  const before = arithmetic;
  arithmetic = mode;
  try {
    return f();
  } finally {
    arithmetic = before;
  }
}

interface WasmBackendInternals {
  wasm: { asm?: { memory?: WebAssembly.Memory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput?(shape: number[], dtype: "float32"): tf.TensorInfo;
}

/** One convolution's weights laid out for the kernels: [k·k][cin][o4] and a bias of o4 (both zero-padded). */
interface PackedConv {
  weights: tf.Tensor1D;
  bias: tf.Tensor1D;
  k: number;
  cin: number;
  cout: number;
}

/**
 * One convolution's weights for the 16-bit kernels: [k·k][c2][o4][2] int16 (the pairs of input channels of each
 * output; a missing last channel and the extra outputs zero), their inverse scales [o4] and the bias [o4].
 */
interface PackedQuantisedConv {
  weights: tf.Tensor1D;
  inverseScales: tf.Tensor1D;
  bias: tf.Tensor1D;
  k: number;
  cin: number;
  cout: number;
}

/** A convolution of a block: the kernel [k, k, cin, cout], its bias (none for the 1 × 1 projections), dilation. */
export interface ConvSpec {
  kernel: tf.Tensor4D;
  bias?: tf.Tensor;
  dilation: number;
}

/** What conv-kernels.wasm exports. */
interface KernelExports {
  conv: ConvExport;
  project_upsampled: ProjectExport;
  interleave: InterleaveExport;
  quantise: QuantiseExport;
  max_abs: MaxAbsExport;
  quantise_frame: QuantiseFrameExport;
  quantise_part: QuantisePartExport;
  conv_q: ConvQuantisedExport;
}

let binding: ConvKernels | null | undefined;

/** The kernels bound to the active tfjs wasm backend, or null where they cannot run (see above). */
export function convKernels(): ConvKernels | null {
  if (binding !== undefined && (binding === null || binding.backend === (tf.backend() as unknown)))
    return binding;
  binding = null;
  if (process.env.MASKCODEC_WASM === "0" || tf.getBackend() !== "wasm") return binding;
  const backend = tf.backend() as unknown as WasmBackendInternals;
  const memory = backend.wasm?.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory) || typeof backend.dataIdMap?.get !== "function") return binding;
  try {
    const bytes = readFileSync(join(import.meta.dirname, "wasm", "conv-kernels.wasm"));
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    const exports = instance.exports as unknown as KernelExports;
    binding = new ConvKernels(backend, memory, exports);
  } catch {
    binding = null;
  }
  return binding;
}

/** For tests and benchmarks: use the kernels (when they can run) or tfjs' convolutions for later calls. */
export function setConvKernels(enabled: boolean): void {
  binding = enabled ? undefined : null;
}

export class ConvKernels {
  private readonly packed = new WeakMap<tf.Tensor, PackedConv>();
  private readonly packedQuantised = new WeakMap<tf.Tensor, PackedQuantisedConv>();
  private readonly conv: ConvExport;
  private readonly project: ProjectExport;
  private readonly copyChannels: InterleaveExport;
  private readonly quantise: QuantiseExport;
  private readonly maxAbs: MaxAbsExport;
  private readonly quantiseFrame: QuantiseFrameExport;
  private readonly quantisePart: QuantisePartExport;
  private readonly convQuantised: ConvQuantisedExport;

  constructor(
    readonly backend: WasmBackendInternals,
    private readonly memory: WebAssembly.Memory,
    exports: KernelExports,
  ) {
    this.conv = exports.conv;
    this.project = exports.project_upsampled;
    this.copyChannels = exports.interleave;
    this.quantise = exports.quantise;
    this.maxAbs = exports.max_abs;
    this.quantiseFrame = exports.quantise_frame;
    this.quantisePart = exports.quantise_part;
    this.convQuantised = exports.conv_q;
  }

  /**
   * The convolutions of `specs` over x, each into its own channels of one output (a concatenation, in order),
   * with ELU applied to the whole: a CBlock's branches. Or, with `sum`, their sum ((y1 + y2) + y3, as
   * tf.add would), no activation: the hourglass' last block.
   */
  run(x: tf.Tensor4D, specs: ConvSpec[], mode: "elu" | "sum" | "linear"): tf.Tensor4D {
    if (arithmetic === "int16") return this.runQuantised(x, specs, mode);
    const [n, h, w, cin] = x.shape;
    const packs = specs.map((s) => this.pack(s.kernel, s.bias));
    const { cout, total } = branchWidths(cin, packs, mode);
    const out = this.allocate([n, h, w, total]);
    const xp = this.offset(x);
    const op = this.offset(out);
    for (let s = 0; s < n; s++) {
      const xs = xp + s * h * w * cin * 4;
      const os = op + s * h * w * total * 4;
      packs.forEach((p, i) => {
        const accumulate = mode === "sum" && i > 0 ? 1 : 0;
        const channel = mode === "sum" ? 0 : i * cout;
        this.conv(
          xs,
          h,
          w,
          cin,
          p.k,
          this.offset(p.weights),
          this.offset(p.bias),
          cout,
          specs[i].dilation,
          os,
          total,
          channel,
          accumulate,
        );
      });
    }
    if (mode !== "elu") return out;
    const activated = tf.elu(out) as tf.Tensor4D;
    out.dispose();
    return activated;
  }

  /**
   * `run` in 16-bit arithmetic: the input quantised once for all branches into a zero-padded copy (the
   * branches' widest reach on every side, 8 more pixels on the right: wasm/conv-kernels.c), ELU applied by
   * the kernel.
   */
  private runQuantised(x: tf.Tensor4D, specs: ConvSpec[], mode: "elu" | "sum" | "linear"): tf.Tensor4D {
    const [, h, w, cin] = x.shape;
    const xp = this.offset(x);
    return this.convolveQuantised(x.shape, specs, mode, (s, pad, qp) =>
      this.quantise(xp + s * h * w * cin * 4, h, w, cin, pad, qp),
    );
  }

  /**
   * `run` of the concatenation of `parts` along the channels, without making it: in 16-bit arithmetic each
   * part is quantised straight into its channels of the padded copy (the same values: one scale for all, the
   * largest magnitude of any part); in float32 the concatenation is made. The networks' first blocks, whose
   * inputs are 9 to 13 one- and three-channel planes: no full-resolution copy of them, 59 MB for a 1280² window.
   */
  runParts(parts: tf.Tensor4D[], specs: ConvSpec[], mode: "elu" | "sum" | "linear"): tf.Tensor4D {
    if (arithmetic !== "int16") {
      const x = this.concat(parts);
      try {
        return this.run(x, specs, mode);
      } finally {
        x.dispose();
      }
    }
    const [n, h, w] = parts[0].shape;
    if (parts.some((p) => p.shape[0] !== n || p.shape[1] !== h || p.shape[2] !== w)) {
      throw new Error("conv kernels: mismatched shapes");
    }
    const cin = parts.reduce((sum, p) => sum + p.shape[3], 0);
    const offsets = parts.map((p) => this.offset(p));
    return this.convolveQuantised([n, h, w, cin], specs, mode, (s, pad, qp) => {
      let largest = 0;
      parts.forEach((p, i) => {
        const size = h * w * p.shape[3];
        largest = Math.max(largest, this.maxAbs(offsets[i] + s * size * 4, size));
      });
      this.quantiseFrame(h, w, cin, pad, qp);
      let channel = 0;
      let xinv = 0;
      parts.forEach((p, i) => {
        const c = p.shape[3];
        xinv = this.quantisePart(offsets[i] + s * h * w * c * 4, h, w, c, channel, cin, pad, largest, qp);
        channel += c;
      });
      return xinv;
    });
  }

  /**
   * The 16-bit convolutions of `specs` over an input of `shape`, which `quantiseSample(s, pad, qp)` lays out for
   * sample s at qp (returning its inverse scale).
   */
  private convolveQuantised(
    shape: readonly number[],
    specs: ConvSpec[],
    mode: "elu" | "sum" | "linear",
    quantiseSample: (sample: number, pad: number, qp: number) => number,
  ): tf.Tensor4D {
    const [n, h, w, cin] = shape;
    const packs = specs.map((s) => this.packQuantised(s.kernel, s.bias));
    const { cout, total } = branchWidths(cin, packs, mode);
    const c2 = (cin + 1) >> 1;
    const pad = Math.max(...packs.map((p, i) => ((p.k - 1) / 2) * specs[i].dilation));
    const out = this.allocate([n, h, w, total]);
    // one float of the scratch tensor holds a pair of int16
    const quantised = this.allocate([1, h + 2 * pad, w + 2 * pad + 8, c2]);
    try {
      const [op, qp] = [this.offset(out), this.offset(quantised)];
      for (let s = 0; s < n; s++) {
        const xinv = quantiseSample(s, pad, qp);
        const os = op + s * h * w * total * 4;
        packs.forEach((p, i) => {
          const kind = mode === "sum" ? (i > 0 ? 1 : 0) : mode === "elu" ? 2 : 0;
          this.convQuantised(
            qp,
            h,
            w,
            c2,
            pad,
            p.k,
            this.offset(p.weights),
            this.offset(p.bias),
            this.offset(p.inverseScales),
            xinv,
            cout,
            specs[i].dilation,
            os,
            total,
            mode === "sum" ? 0 : i * cout,
            kind,
          );
        });
      }
    } finally {
      quantised.dispose();
    }
    return out;
  }

  /**
   * The 1 × 1 projection `kernel` (no bias) of concat([low upsampled 2× by repetition, skip]) along the
   * channels, without making either: the hourglass' up path into the next block's bottleneck.
   */
  projectUpsampled(low: tf.Tensor4D, skip: tf.Tensor4D, kernel: tf.Tensor4D): tf.Tensor4D {
    const [n, h, w, cs] = skip.shape;
    const cl = low.shape[3];
    const p = this.pack(kernel, undefined);
    if (
      p.k !== 1 ||
      p.cin !== cl + cs ||
      low.shape[1] * 2 !== h ||
      low.shape[2] * 2 !== w ||
      low.shape[0] !== n
    ) {
      throw new Error("conv kernels: mismatched shapes");
    }
    const out = this.allocate([n, h, w, p.cout]);
    const [lp, sp, op] = [this.offset(low), this.offset(skip), this.offset(out)];
    const lowBytes = (h / 2) * (w / 2) * cl * 4;
    for (let s = 0; s < n; s++) {
      const [ls, ss, os] = [lp + s * lowBytes, sp + s * h * w * cs * 4, op + s * h * w * p.cout * 4];
      this.project(ls, cl, ss, cs, h, w, this.offset(p.weights), p.cout, os);
    }
    return out;
  }

  /** tf.concat of NHWC tensors along the channels (a copy, in the backend's memory). */
  concat(parts: tf.Tensor4D[]): tf.Tensor4D {
    const [n, h, w] = parts[0].shape;
    if (parts.some((p) => p.shape[0] !== n || p.shape[1] !== h || p.shape[2] !== w)) {
      throw new Error("conv kernels: mismatched shapes");
    }
    const total = parts.reduce((sum, p) => sum + p.shape[3], 0);
    const out = this.allocate([n, h, w, total]);
    const op = this.offset(out);
    let channel = 0;
    for (const part of parts) {
      this.copyChannels(this.offset(part), part.shape[3], n * h * w, op, total, channel);
      channel += part.shape[3];
    }
    return out;
  }

  private offset(t: tf.Tensor): number {
    if (t.dtype !== "float32") throw new Error("conv kernels: float32 tensors only");
    const info = this.backend.dataIdMap.get(t.dataId);
    if (!info) throw new Error("conv kernels: tensor not on the wasm backend");
    return info.memoryOffset;
  }

  /** An uninitialised float32 tensor of the backend (every element is then written by the kernels). */
  private allocate<T extends tf.Tensor = tf.Tensor4D>(shape: number[]): T {
    if (this.backend.makeOutput) {
      return tf.engine().makeTensorFromTensorInfo(this.backend.makeOutput(shape, "float32")) as T;
    }
    return tf.zeros(shape) as T;
  }

  /**
   * A kernel in 16-bit integers for conv_q. Each output's scale is the largest that keeps its weights within
   * ±16383 and the sum of the magnitudes of any one row of taps within 65536 − k·cin, so a row's exact sum of
   * products with inputs of at most 32767 stays below 2^31 (the rounding adds at most half a unit per weight).
   */
  private packQuantised(kernel: tf.Tensor4D, bias: tf.Tensor | undefined): PackedQuantisedConv {
    const cached = this.packedQuantised.get(kernel);
    if (cached && !cached.weights.isDisposed) return cached;
    const [k, , cin, cout] = kernel.shape;
    const o4 = (cout + 3) & ~3;
    const c2 = (cin + 1) >> 1;
    const source = kernel.dataSync() as Float32Array;
    const at = (ky: number, kx: number, c: number, o: number) => source[((ky * k + kx) * cin + c) * cout + o];
    const scales = new Float64Array(o4).fill(1);
    const inverse = new Float32Array(o4).fill(1);
    for (let o = 0; o < cout; o++) {
      let largest = 0;
      let largestRow = 0;
      for (let ky = 0; ky < k; ky++) {
        let row = 0;
        for (let kx = 0; kx < k; kx++) {
          for (let c = 0; c < cin; c++) {
            const m = Math.abs(at(ky, kx, c, o));
            row += m;
            largest = Math.max(largest, m);
          }
        }
        largestRow = Math.max(largestRow, row);
      }
      if (largest > 0) {
        scales[o] = Math.min(16383 / largest, (65536 - k * cin) / largestRow);
        inverse[o] = 1 / scales[o];
      }
    }
    const words = new Int16Array(k * k * c2 * o4 * 2);
    for (let t = 0; t < k * k; t++) {
      for (let c = 0; c < cin; c++) {
        for (let o = 0; o < cout; o++) {
          const value = Math.round(source[(t * cin + c) * cout + o] * scales[o]);
          words[((t * c2 + (c >> 1)) * o4 + o) * 2 + (c & 1)] = value;
        }
      }
    }
    // written as bytes into the backend's memory: a float32 tensor made from them could change a NaN pattern
    const weights = this.allocate<tf.Tensor1D>([words.length / 2]);
    new Int16Array(this.memory.buffer, this.offset(weights), words.length).set(words);
    const packed: PackedQuantisedConv = {
      weights: tf.keep(weights),
      inverseScales: tf.keep(tf.tensor1d(inverse)),
      bias: paddedBias(bias, o4),
      k,
      cin,
      cout,
    };
    this.packedQuantised.set(kernel, packed);
    return packed;
  }

  private pack(kernel: tf.Tensor4D, bias: tf.Tensor | undefined): PackedConv {
    const cached = this.packed.get(kernel);
    if (cached && !cached.weights.isDisposed) return cached;
    const [k, , cin, cout] = kernel.shape;
    const o4 = (cout + 3) & ~3;
    const source = kernel.dataSync() as Float32Array;
    const weights = new Float32Array(k * k * cin * o4);
    for (let t = 0; t < k * k * cin; t++) {
      for (let o = 0; o < cout; o++) weights[t * o4 + o] = source[t * cout + o];
    }
    // kept outside any tidy scope: they live as long as the model's kernel (the cache is keyed by it)
    const packed: PackedConv = {
      weights: tf.keep(tf.tensor1d(weights)),
      bias: paddedBias(bias, o4),
      k,
      cin,
      cout,
    };
    this.packed.set(kernel, packed);
    return packed;
  }
}

/**
 * The width of each branch of `run` and of its output (the branches side by side, or one for their sum),
 * checking that the branches read x's channels and agree with each other.
 */
function branchWidths(
  cin: number,
  packs: { cin: number; cout: number }[],
  mode: "elu" | "sum" | "linear",
): { cout: number; total: number } {
  const cout = packs[0].cout;
  if (packs.some((p) => p.cin !== cin || p.cout !== cout)) throw new Error("conv kernels: mismatched shapes");
  return { cout, total: mode === "sum" ? cout : cout * packs.length };
}

/** A bias zero-padded to o4 values (zeros where there is none), kept as long as the model's kernel. */
function paddedBias(bias: tf.Tensor | undefined, o4: number): tf.Tensor1D {
  const b = new Float32Array(o4);
  if (bias) b.set(bias.dataSync() as Float32Array);
  return tf.keep(tf.tensor1d(b));
}
