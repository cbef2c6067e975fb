import type { Weights } from "./models.ts";
import { tf } from "./tf.ts";

/**
 * Adam (Kingma & Ba) over a subset of named weights, with its state as named tensors so that checkpoints
 * can store and restore it exactly. Our own (a dozen lines) rather than tf.train.adam, whose state is keyed
 * by tfjs' global variable names.
 */
export class Adam {
  readonly m = new Map<string, tf.Variable>();
  readonly v = new Map<string, tf.Variable>();
  t = 0;

  constructor(
    readonly name: string,
    public lr: number,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-8,
  ) {}

  /** grads maps weight names to gradients. */
  apply(weights: Weights, grads: Map<string, tf.Tensor>): void {
    this.t++;
    const c1 = 1 - this.beta1 ** this.t;
    const c2 = 1 - this.beta2 ** this.t;
    const step = (this.lr * Math.sqrt(c2)) / c1;
    tf.tidy(() => {
      for (const [name, g] of grads) {
        const w = weights.get(name);
        if (!w) throw new Error(`Adam: unknown weight ${name}`);
        let m = this.m.get(name);
        let v = this.v.get(name);
        if (!m || !v) {
          m = tf.variable(tf.zerosLike(w), false);
          v = tf.variable(tf.zerosLike(w), false);
          this.m.set(name, m);
          this.v.set(name, v);
        }
        m.assign(tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1)));
        v.assign(tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2)));
        w.assign(tf.sub(w, tf.mul(step, tf.div(m, tf.add(tf.sqrt(v), this.epsilon)))));
      }
    });
  }

  /** Named state tensors ("adam/<name>/m/<weight>", ...) for checkpoints. */
  stateTensors(): Array<[string, tf.Tensor]> {
    const out: Array<[string, tf.Tensor]> = [];
    for (const [k, m] of this.m) out.push([`adam/${this.name}/m/${k}`, m]);
    for (const [k, v] of this.v) out.push([`adam/${this.name}/v/${k}`, v]);
    return out;
  }

  loadState(tensors: Map<string, tf.Tensor>, t: number): void {
    this.t = t;
    for (const [key, value] of tensors) {
      const prefix = `adam/${this.name}/`;
      if (!key.startsWith(prefix)) continue;
      const rest = key.slice(prefix.length);
      const kind = rest.slice(0, 2);
      const weight = rest.slice(2);
      const target = kind === "m/" ? this.m : kind === "v/" ? this.v : undefined;
      if (!target) continue;
      target.get(weight)?.dispose();
      target.set(weight, tf.variable(value, false));
    }
  }
}
