"""
Trains on top of a frozen model, on a pool of its own masks (torch/mask-pool.py), with L1 + W (1 - SSIM):

  --mode ref  a refiner: a second hourglass "ref" (models.ts ArchOptions.refiner) that corrects the inpainting
              generator's output, u' = (1 - b) clip(u + 0.2 z', 0, 1) + b f, from [u, b, b f, pp, D]. Its last
              block starts at zero, so training starts from the frozen model's own figures.
  --mode gen  the inpainting generator itself, the mask generator frozen (no critic).

Why: on a CPU a whole GAN step (both generators, the critic, the diffusion solve and its adjoint) takes ~5 s at
batch 16 and no longer moves the shipped specialists; with the masks and interpolations precomputed, a
refiner step takes ~2 s, and a refiner adds capacity that the frozen, jointly trained networks keep.

Validation: the val crops (.gpu/val100.npy, torch/val-crops.ts) at --density with fixed mask and generator
noise (seed 1); the best weights by validation MAE are kept. Writes into --out:
log.txt (what it prints), best.json + best.f32 (the trained weights, tfjs names and layout, as train.py's tars)
and args.json; `npx tsx torch/import-refiner.ts` makes a model folder of them.

    python3 torch/refine.py --mode ref --model models/maskgan-v8-d05 --pools P1.npz P2.npz --lr 1e-3 \
      --warmup 50 --minutes 70 --out runs/ref-a
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dither import dither_masks  # noqa: E402
from maskgan import (  # noqa: E402
    DILATIONS,
    DiffusionInterpolation,
    Nets,
    analytic_scores,
    density_plane,
    load_tfjs_weights,
    nchw,
    quantisation_planes,
    quantise_ycbcr,
    ssim_per_image,
)


# the refiner's input channels: u (3), b (1), b f (3), the diffusion interpolation (3), the density plane (1);
# a quantised refiner reads two step planes more (maskgan.py quantisation_planes)
REFINER_INPUTS = 11


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="ref", choices=["ref", "gen"])
    ap.add_argument("--model", required=True, help="the frozen model folder")
    ap.add_argument("--pools", nargs="+", required=True, help="torch/mask-pool.py outputs of that model")
    ap.add_argument("--val", default=".gpu/val100.npy")
    ap.add_argument(
        "--density",
        type=lambda v: [float(x) for x in v.split(",")],
        default=[0.05],
        help="validation density; a comma list (0.05,0.1) validates every crop at each and scores the mean",
    )
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=100, help="linear learning-rate warm-up steps")
    ap.add_argument("--ssim", type=float, default=0.05, help="W of the W (1 - SSIM) term")
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--val-every", type=int, default=200)
    ap.add_argument("--width", type=int, default=4, help="ref: channels per branch at the finest level")
    ap.add_argument("--levels", type=int, default=3, help="ref: levels of its hourglass")
    ap.add_argument("--ema", type=float, default=0, help="also validate a moving average of the weights")
    ap.add_argument(
        "--quantised",
        action="store_true",
        help="ref: a refiner that also reads the codec's quantiser steps (two planes) and trains on values "
        "quantised as the codec stores them (YCbCr, random levels) as well as exact ones",
    )
    ap.add_argument("--exact-share", type=float, default=0.25, help="--quantised: share of samples with exact values")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--init",
        help="an earlier run's folder of the same mode and model, or a model folder that torch/import-refiner.ts "
        "made from such runs (e.g. models/maskgan-v11-d05): go on from its best (shipped) weights",
    )
    ap.add_argument("--out", required=True, help="output folder")
    return ap.parse_args()


def init_refiner(arch, width, levels, cin, cout, rng):
    """The weights of an hourglass "ref" as models.ts initHourglass lays them out; its last block zero."""
    ws = {}

    def conv(name, ci, co, zero=False):
        std = math.sqrt(2 / (25 * ci))
        ws[name + "/kernel"] = (
            np.zeros((5, 5, ci, co), np.float32) if zero else (rng.standard_normal((5, 5, ci, co)) * std).astype(np.float32)
        )
        ws[name + "/bias"] = np.zeros(co, np.float32)

    def reduce(name, ci, co):  # models.ts hasBottleneck / addReduce
        k = arch.get("bottleneck", 0) or 0
        if k > 0 and co <= k and ci > k:
            ws[name + "/reduce/kernel"] = (rng.standard_normal((1, 1, ci, k)) / math.sqrt(ci)).astype(np.float32)
            return k
        return ci

    level_width = lambda lv: width * 2 ** min(lv, 2)
    skips, c = [], cin
    for lv in range(levels):
        for d in DILATIONS:
            conv(f"ref/down{lv}/d{d}", c, level_width(lv))
        c = 3 * level_width(lv)
        skips.append(c)
    for lv in range(levels - 1, -1, -1):
        branch_in = reduce(f"ref/up{lv}", c, level_width(lv))
        for d in DILATIONS:
            conv(f"ref/up{lv}/d{d}", branch_in, level_width(lv))
        c = 3 * level_width(lv) + skips[lv]
    branch_in = reduce("ref/out", c, cout)
    for d in DILATIONS:
        conv(f"ref/out/d{d}", branch_in, cout, zero=True)
    return ws


def load_saved(path_base):
    """The {name: float32 array} of save_weights' files."""
    with open(path_base + ".json") as fh:
        specs = json.load(fh)["weights"]
    blob = open(path_base + ".f32", "rb").read()
    count = lambda s: int(np.prod(s["shape"])) if s["shape"] else 1
    return {
        s["name"]: np.frombuffer(blob, "<f4", count(s), s["offset"]).reshape(s["shape"]).copy() for s in specs
    }


def read_earlier(init, base_meta):
    """What --init goes on from: {mode, refiner, chain, weights, what}, of a run folder or of a model folder.

    A model folder is import-refiner.ts' output; its float16 weights are what ships, so going on from it
    validates at the shipped figures. Its earlier runs need not exist any more: import-refiner.ts reads their
    logs from the model's refiner/ folder when the chain names the model.
    """
    if os.path.exists(os.path.join(init, "card.json")):
        card = json.load(open(os.path.join(init, "card.json")))
        ref = card.get("refinement")
        if not ref:
            raise SystemExit(f"{init} is a model folder without a refinement (not made by import-refiner.ts)")
        if ref["base"] != base_meta.get("id"):
            raise SystemExit(f"{init} refines {ref['base']}, not {base_meta.get('id')}")
        meta, weights = load_tfjs_weights(init)
        prefix = "ref/" if ref["mode"] == "ref" else "gen/"
        return {
            "mode": ref["mode"],
            "refiner": meta["arch"].get("refiner") if ref["mode"] == "ref" else None,
            "chain": [],
            "weights": {n: v for n, v in weights.items() if n.startswith(prefix)},
            "what": "the model's shipped weights",
        }
    args = json.load(open(os.path.join(init, "args.json")))
    return {
        "mode": args["mode"],
        "refiner": args["refiner"],
        "chain": args.get("chain", []),
        "weights": load_saved(os.path.join(init, "best")),
        "what": "its best weights",
    }


def save_weights(path_base, named):
    """best.json + best.f32: float32 little-endian blobs with {name, shape, offset} specs (train.py's tar layout)."""
    specs, blobs, offset = [], [], 0
    for name, t in named.items():
        a = np.ascontiguousarray(t.detach().cpu().numpy().astype("<f4"))
        specs.append({"name": name, "shape": list(a.shape), "offset": offset})
        blobs.append(a.tobytes())
        offset += a.nbytes
    with open(path_base + ".f32.tmp", "wb") as fh:
        fh.write(b"".join(blobs))
    with open(path_base + ".json.tmp", "w") as fh:
        json.dump({"weights": specs}, fh)
    os.replace(path_base + ".f32.tmp", path_base + ".f32")
    os.replace(path_base + ".json.tmp", path_base + ".json")


def main():
    a = parse_args()
    os.makedirs(a.out, exist_ok=True)
    log_fh = open(os.path.join(a.out, "log.txt"), "a")

    def log(line):
        print(line, flush=True)
        log_fh.write(line + "\n")
        log_fh.flush()

    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    meta, w = load_tfjs_weights(a.model)
    nets = Nets(meta["arch"], w)
    if meta["arch"].get("refiner"):
        raise SystemExit(f"{a.model} already has a refiner")
    pools = [np.load(p) for p in a.pools]
    pool_f = np.concatenate([p["f"] for p in pools])
    pool_b = np.concatenate([p["b"] for p in pools])
    pool_pp = np.concatenate([p["pp"] for p in pools])
    pool_d = np.concatenate([p["d"] for p in pools])
    log(f"pool {pool_f.shape}")
    for p in nets.parameters():
        p.requires_grad_(False)
    if a.mode == "ref":
        refiner = {"width": a.width, "levels": a.levels, **({"quantised": True} if a.quantised else {})}
        cin = REFINER_INPUTS + (2 if a.quantised else 0)
        trained = Nets({**meta["arch"], "refiner": refiner}, init_refiner(meta["arch"], a.width, a.levels, cin, 3, rng))
        params = list(trained.parameters())
    else:
        refiner, trained = None, nets
        params = nets.group("gen")
    earlier = read_earlier(a.init, meta) if a.init else None
    if earlier:
        shape = lambda r: {k: v for k, v in (r or {}).items() if k != "quantised"}
        if earlier["mode"] != a.mode or (a.mode == "ref" and shape(earlier["refiner"]) != shape(refiner)):
            raise SystemExit(f"{a.init} is a run of another mode or refiner shape")
        if earlier["refiner"] and earlier["refiner"].get("quantised") and not a.quantised:
            raise SystemExit(f"{a.init} is a quantised refiner: pass --quantised")
        with torch.no_grad():
            for name, value in earlier["weights"].items():
                target = trained.w(name)
                if tuple(target.shape) != value.shape:
                    # an exact refiner going on as a quantised one: the step planes' input weights start at zero,
                    # so the first step computes exactly what the earlier refiner did
                    assert name.startswith("ref/down0/") and value.shape[2] == REFINER_INPUTS, (name, value.shape)
                    target.zero_()
                    target[:, :, :REFINER_INPUTS].copy_(torch.from_numpy(value))
                else:
                    target.copy_(torch.from_numpy(value))
        log(f"init {a.init} ({earlier['what']})")
    for p in params:
        p.requires_grad_(True)
    named = lambda: {n: trained.w(n) for n in trained.names if (a.mode == "ref" or n.startswith("gen/"))}
    log(f"params {sum(p.numel() for p in params)}")
    # the runs this one goes on from, oldest first (import-refiner.ts puts them on the card)
    chain = earlier["chain"] + [a.init] if earlier else []
    with open(os.path.join(a.out, "args.json"), "w") as fh:
        json.dump({**vars(a), "refiner": refiner, "base": meta.get("id", a.model), "chain": chain}, fh, indent=1)
    opt = torch.optim.Adam(params, lr=a.lr)
    ema = [p.detach().clone() for p in params] if a.ema else None

    def forward(f, b, pp, ds, r, qplanes=None):
        """f: the values the decoder sees (quantised or exact), pp their diffusion interpolation."""
        _, _, h, wd = f.shape
        known = b * f
        dplane = density_plane(ds, h, wd, f)
        x = torch.cat([r, b, known, pp, dplane], 1)
        if a.mode == "gen":
            return (1 - b) * torch.clamp(pp + 0.2 * nets.hourglass("gen", x), 0, 1) + known
        with torch.no_grad():
            u = (1 - b) * torch.clamp(pp + 0.2 * nets.hourglass("gen", x), 0, 1) + known
        return trained.refine(u, b, known, pp, dplane, qplanes)

    # --quantised: levels per sample, around the codec's default of 16 / 16 (0: exact values). The
    # first run also drew 8 and 48 levels at lr 1e-3: the codec's figure fell 0.1 and rose again by step 400
    level_choices = [12, 16, 16, 16, 20, 24, 32]

    def draw_levels(n):
        luma, chroma = [], []
        for _ in range(n):
            if rng.random() < a.exact_share:
                luma.append(0)
                chroma.append(0)
                continue
            y = int(rng.choice(level_choices))
            luma.append(y)
            chroma.append(y if rng.random() < 0.5 else int(rng.choice(level_choices)))
        return luma, chroma

    def decoder_view(f, b, pp, luma, chroma):
        """What the decoder gets for values quantised at these levels: (values, their interpolation, planes)."""
        _, _, h, wd = f.shape
        planes = quantisation_planes(luma, chroma, h, wd, f)
        if not any(luma) and not any(chroma):
            return f, pp, planes
        fq = quantise_ycbcr(f, luma, chroma)
        with torch.no_grad():
            ppq = DiffusionInterpolation.apply(fq, b)
        exact = torch.tensor([not y and not c for y, c in zip(luma, chroma)]).reshape(-1, 1, 1, 1)
        return fq, torch.where(exact, pp, ppq), planes

    val = np.load(a.val).astype(np.float32) / 255.0
    crops = val.shape[0]
    assert crops % 20 == 0 or len(a.density) == 1, "per-density figures need a multiple of 20 val crops"
    val = np.concatenate([val] * len(a.density))
    vn, vs = val.shape[0], val.shape[1]
    vf, vds = nchw(val), [d for d in a.density for _ in range(crops)]
    with torch.no_grad():
        g = torch.Generator().manual_seed(1)
        # the same noise for a crop at every density (and the single-density draws of earlier runs)
        r_m = torch.rand((crops, 1, vs, vs), generator=g).repeat(len(a.density), 1, 1, 1)
        analytic = torch.from_numpy(analytic_scores(val, vds)).unsqueeze(1)
        vb, _ = dither_masks(nets.mask_logits(vf, r_m, vds, analytic), vds)
        vr = torch.rand((crops, 1, vs, vs), generator=g).repeat(len(a.density), 1, 1, 1)
        vpp = DiffusionInterpolation.apply(vf, vb)

        if a.quantised:  # the codec's default quantiser, 16 / 16 levels
            vfq = quantise_ycbcr(vf, [16] * vn, [16] * vn)
            vppq = DiffusionInterpolation.apply(vfq, vb)
            vq = quantisation_planes([16] * vn, [16] * vn, vs, vs, vf)

    def validate_on(values, interp, planes):
        with torch.no_grad():
            maes, ssims = [], []
            for i in range(0, vn, 20):
                s = slice(i, i + 20)
                u = forward(values[s], vb[s], interp[s], vds[s], vr[s], None if planes is None else planes[s])
                maes.append((vf[s] - u).abs().mean().item() * 255)
                ssims.append(ssim_per_image(u, vf[s]).mean().item())
            return float(np.mean(maes)), float(np.mean(ssims)), per_density(maes)

    def per_density(maes):
        """' (0.05: 10.7, 0.1: 9.1)' when validating at several densities, else ''."""
        if len(a.density) == 1:
            return ""
        k = len(maes) // len(a.density)
        parts = [f"{d:g}: {np.mean(maes[i * k : (i + 1) * k]):.3f}" for i, d in enumerate(a.density)]
        return f" ({', '.join(parts)})"

    def validate():
        """(score, line): the MAE with exact values, and with --quantised the mean of it and the MAE with the
        codec's default quantiser (both lines are logged; the score picks the best weights)."""
        m = validate_on(vf, vpp, torch.zeros_like(vq) if a.quantised else None)
        line = f"val {m[0]:.3f} / {m[1]:.4f}{m[2]}"
        if not a.quantised:
            return m[0], line
        mq = validate_on(vfq, vppq, vq)
        return (m[0] + mq[0]) / 2, line + f" q16 {mq[0]:.3f} / {mq[1]:.4f}"

    def swap_ema():
        for p, e in zip(params, ema):
            t = p.detach().clone()
            p.data.copy_(e)
            e.copy_(t)

    m0, line0 = validate()
    log(f"step 0 {line0}")
    best_mae, best_step = m0, 0
    started, step, acc = time.time(), 0, []
    while time.time() - started < a.minutes * 60:
        idx = rng.integers(0, len(pool_f), a.batch)
        f = torch.from_numpy(pool_f[idx].astype(np.float32) / 255).permute(0, 3, 1, 2).contiguous()
        b = torch.from_numpy(pool_b[idx].astype(np.float32))
        pp = torch.from_numpy(pool_pp[idx].astype(np.float32))
        if a.quantised:
            fq, ppq, planes = decoder_view(f, b, pp, *draw_levels(a.batch))
            u = forward(fq, b, ppq, [float(x) for x in pool_d[idx]], torch.rand(b.shape), planes)
        else:
            u = forward(f, b, pp, [float(x) for x in pool_d[idx]], torch.rand(b.shape))
        l1 = (f - u).abs().mean()
        loss = l1 + (a.ssim * (1 - ssim_per_image(u, f).mean()) if a.ssim > 0 else 0)
        for group in opt.param_groups:
            group["lr"] = a.lr * min(1, (step + 1) / a.warmup) if a.warmup else a.lr
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        acc.append(l1.item() * 255)
        if ema:
            with torch.no_grad():
                for p, e in zip(params, ema):
                    e.mul_(a.ema).add_(p.detach(), alpha=1 - a.ema)
        if step % 50 == 0:
            log(f"step {step} l1 {np.mean(acc):.3f} {(time.time() - started) / step:.2f}s/step")
            acc = []
        if step % a.val_every == 0:
            m, vline = validate()
            line = f"step {step} {vline}"
            if m < best_mae:
                best_mae, best_step = m, step
                save_weights(os.path.join(a.out, "best"), named())
            if ema:
                swap_ema()
                me, eline = validate()
                line += f" ema {eline[4:]}"
                if me < best_mae:
                    best_mae, best_step = me, step
                    save_weights(os.path.join(a.out, "best"), named())
                swap_ema()
            log(line)
    log(f"best {best_mae:.3f} at step {best_step}")


if __name__ == "__main__":
    main()
