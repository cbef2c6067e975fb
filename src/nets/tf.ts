import { createRequire } from "node:module";
import type * as TfCore from "@tensorflow/tfjs-core";

/**
 * tfjs-core (and the wasm backend, `requireWasmBackend`), loaded with `require` rather than `import`.
 *
 * Why: both packages' Node entries are CommonJS files of several megabytes. An ES-module `import` of a
 * CommonJS file makes Node scan its whole source for the names it exports (cjs-module-lexer) before
 * running it; `require` just runs it. The scan cost about 0.13 s of CPU in every `maskcodec` process
 * that runs the networks (`node -e` importing both packages: 0.21 s CPU with `import`, 0.08 s with
 * `require`). The module is the same either way (Node's CommonJS cache), so code that imports tfjs-core
 * directly (tests) shares its engine and backend.
 *
 * Use as `import { tf } from "./tf.ts"`: `tf.tidy(…)` for values, `tf.Tensor4D` for types.
 */
const require = createRequire(import.meta.url);

export const tf: typeof TfCore = require("@tensorflow/tfjs-core");

/** The types of tfjs-core that the networks name (the value `tf` above has the classes). */
export declare namespace tf {
  type Rank = TfCore.Rank;
  type Tensor<R extends Rank = Rank> = TfCore.Tensor<R>;
  type Scalar = TfCore.Scalar;
  type Tensor1D = TfCore.Tensor1D;
  type Tensor2D = TfCore.Tensor2D;
  type Tensor3D = TfCore.Tensor3D;
  type Tensor4D = TfCore.Tensor4D;
  type TensorInfo = TfCore.TensorInfo;
  type Variable<R extends Rank = Rank> = TfCore.Variable<R>;
  type NamedTensorMap = TfCore.NamedTensorMap;
  type GradSaveFunc = TfCore.GradSaveFunc;
  namespace io {
    type WeightsManifestEntry = TfCore.io.WeightsManifestEntry;
  }
}

/** The tfjs wasm backend's module (registers the "wasm" backend with tfjs-core when first loaded). */
export function requireWasmBackend(): typeof import("@tensorflow/tfjs-backend-wasm") {
  return require("@tensorflow/tfjs-backend-wasm");
}
