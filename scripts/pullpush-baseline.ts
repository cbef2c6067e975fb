// Pull-push interpolation alone (no network) on the 16 validation crops with uniformly random masks, the
// baseline quoted in docs/notes/nets.md:  npx tsx scripts/pullpush-baseline.ts
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/nets/backend.ts";
import { centreCrops, loadImageFolder } from "../src/nets/data.ts";
import { Rng } from "../src/nets/ops.ts";
import { pullPush } from "../src/nets/pullpush.ts";

await initBackend("wasm", { training: true });
const set = await loadImageFolder("../shared/datasets/bsds500/val", { limit: 16 });
const { data, count } = centreCrops(set, 128, 16);
for (const d of [0.01, 0.02, 0.05, 0.1, 0.2]) {
  const rng = new Rng(12345);
  const m = Float32Array.from({ length: count * 128 * 128 }, () => (rng.next() < d ? 1 : 0));
  const f = tf.tensor4d(data, [count, 128, 128, 3]);
  const b = tf.tensor4d(m, [count, 128, 128, 1]);
  const t = performance.now();
  const u = pullPush(tf.mul(f, b) as tf.Tensor4D, b);
  const mae = tf.mean(tf.abs(tf.sub(u, f))).dataSync()[0] * 255;
  console.log(
    d,
    "pull-push MAE random mask",
    mae.toFixed(2),
    ((performance.now() - t) / 1000).toFixed(3),
    "s",
  );
}
