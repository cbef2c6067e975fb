"""
Checks the PyTorch port (torch/maskgan.py, torch/dither.py) against the TypeScript networks on the batch that
torch/reference.ts wrote: same weights, same inputs; prints each quantity's largest difference and fails (exit
code 1) when one exceeds its tolerance.

    npx tsx torch/reference.ts && python3 torch/check_port.py [--ref torch/.ref] [--model models/maskgan-v8-d05]
"""

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dither import DitherStraightThrough, dither_masks  # noqa: E402
from maskgan import (  # noqa: E402
    DiffusionInterpolation,
    Mulberry32,
    Nets,
    analytic_scores,
    load_tfjs_weights,
    nchw,
    quantisation_planes,
)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ref", default="torch/.ref")
    ap.add_argument("--model", default="models/maskgan-v8-d05")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    dev = torch.device(args.device)
    ref = {n[:-4]: np.load(os.path.join(args.ref, n)) for n in os.listdir(args.ref) if n.endswith(".npy")}
    meta, weights = load_tfjs_weights(args.model)
    nets = Nets(meta["arch"], weights).to(dev)
    densities = [round(float(d), 6) for d in ref["densities"]]  # stored as float32
    f_nhwc = ref["f"]
    S = f_nhwc.shape[1]
    f = nchw(f_nhwc).to(dev)
    rm = nchw(ref["noise_m"]).to(dev)
    rg = nchw(ref["noise_g"]).to(dev)
    failures = []

    def correlate(name, got, want, min_corr):
        """For gradients that reach the mask generator: the dithering's straight-through gradient subtracts
        each sample's weighted mean, which cancels most of dL/db, so float32 rounding of either side shows
        up as a few per cent per entry; the direction is what must agree."""
        got = np.asarray(got, dtype=np.float64).ravel()
        want = np.asarray(want, dtype=np.float64).ravel()
        corr = np.corrcoef(got, want)[0, 1]
        rel = np.linalg.norm(got - want) / np.linalg.norm(want)
        ok = corr >= min_corr
        print(f"{'ok  ' if ok else 'FAIL'} {name:28s} correlation {corr:.5f} (relative error norm {rel:.3g}), at least {min_corr}")
        if not ok:
            failures.append(name)

    def compare(name, got, want, tol, relative=False):
        got = np.asarray(got, dtype=np.float64)
        want = np.asarray(want, dtype=np.float64)
        diff = np.abs(got - want).max()
        scale = np.abs(want).max() if relative else 1.0
        err = diff / max(scale, 1e-30)
        ok = err <= tol
        print(f"{'ok  ' if ok else 'FAIL'} {name:28s} max |diff| {diff:.3g}{f' (relative {err:.3g})' if relative else ''}, tolerance {tol:g}")
        if not ok:
            failures.append(name)

    # the validation noise: mulberry32 value for value (reference.ts drew noise_m from Rng(7))
    compare("mulberry32 draws", Mulberry32(7).fill(ref["noise_m"].size), ref["noise_m"].ravel(), 0)
    analytic = analytic_scores(f_nhwc, densities)
    compare("analytic scores", analytic, ref["analytic"], 1e-4)
    a_t = torch.from_numpy(analytic).unsqueeze(1).to(dev)
    with torch.no_grad():
        z = nets.mask_logits(f, rm, densities, a_t)
    compare("mask logits z", z.permute(0, 2, 3, 1).cpu(), ref["z"], 1e-3)
    # dither the reference logits: the masks must agree exactly given the same scores
    zr = nchw(ref["z"]).to(dev)
    mask, _ = dither_masks(zr, densities)
    mism = int((mask.permute(0, 2, 3, 1).cpu().numpy() != ref["mask"]).sum())
    print(f"{'ok  ' if mism == 0 else 'FAIL'} dithered masks               {mism} of {mask.numel()} pixels differ")
    if mism:
        failures.append("dithered masks")
    b = nchw(ref["mask"]).to(dev)
    with torch.no_grad():
        pp = DiffusionInterpolation.apply(f, b)
        u = nets.inpaint(f, b, rg, densities)
        score = nets.critic(u, b)
    compare("diffusion interpolation", pp.permute(0, 2, 3, 1).cpu(), ref["pp"], 2e-3)
    compare("inpainted u", u.permute(0, 2, 3, 1).cpu(), ref["u"], 2e-3)
    if "u_stored" in ref:
        with torch.no_grad():
            planes = quantisation_planes([16] * len(densities), [32] * len(densities), S, S, f)
            u_stored = nets.inpaint(f, b, rg, densities, planes)
        compare("inpainted u, values stored on 16 / 32 levels", u_stored.permute(0, 2, 3, 1).cpu(), ref["u_stored"], 2e-3)
    compare("critic", score.cpu(), ref["critic"], 1e-4, relative=True)

    bleaf = b.clone().requires_grad_(True)
    (DiffusionInterpolation.apply(f, bleaf) * nchw(ref["weighting"]).to(dev)).sum().backward()
    compare("diffusion mask gradient", bleaf.grad.permute(0, 2, 3, 1).cpu(), ref["grad_diffusion"], 0.01, relative=True)

    # the generator's input gradient (through the whole hourglass) and the critic's mask gradient
    # d/dr mean |f - u| is -mean(sign(f - u) du/dr): taken with the signs of the reference's own residual,
    # since where |f - u| is below the two ports' difference in u (~4e-4) the sign may flip, and one flipped
    # pixel moves the gradient's largest entry by a few per cent of it (maskgan-v12-lo: 3.2 %)
    sign = torch.sign(f - nchw(ref["u"]).to(dev))
    rleaf = rg.clone().requires_grad_(True)
    (-(sign * nets.inpaint(f, b, rleaf, densities))).mean().backward()
    # the generator makes little use of its noise: dL/dr is a sum of terms that nearly cancel, ~4e-6 at most,
    # and float32 rounding on either side shows up as 1-3 % of its largest entry (8.5e-8 for maskgan-v12-lo);
    # as for the mask gradient, the direction is what must agree
    correlate("gradient wrt r (generator)", rleaf.grad.permute(0, 2, 3, 1).cpu(), ref["grad_rg"], 0.999)
    bleaf = b.clone().requires_grad_(True)
    nets.critic(nchw(ref["u"]).to(dev), bleaf).mean().backward()
    compare("critic gradient wrt b", bleaf.grad.permute(0, 2, 3, 1).cpu(), ref["grad_b_critic"], 1e-3, relative=True)

    # gradients of the training loss (ganStep, dithered masks)
    alpha = 0.005 / (S * S * 3)
    target = torch.tensor(densities, dtype=f.dtype, device=dev)

    def loss_of(zin):
        bs = DitherStraightThrough.apply(zin, densities)
        out = nets.inpaint(f, bs, rg, densities)
        l1 = (f - out).abs().mean()
        d_fake = nets.critic(out, bs).mean()
        dens = (bs.mean(dim=(1, 2, 3)) - target).abs().mean()
        return -alpha * d_fake + l1 + dens

    zleaf = zr.clone().requires_grad_(True)
    loss_of(zleaf).backward()
    correlate("gradient wrt z", zleaf.grad.permute(0, 2, 3, 1).cpu(), ref["grad_z"], 0.995)
    nets.zero_grad()
    loss = loss_of(nets.mask_logits(f, rm, densities, a_t))
    loss.backward()
    compare("training loss", [loss.item()], ref["loss"], 1e-4)
    for name in ["gen/down0/d1/kernel", "gen/out/d5/kernel", "mask/down0/d2/kernel", "critic/f0/kernel"]:
        g = nets.w(name).grad.cpu().numpy()
        if name.startswith("mask/"):
            correlate(f"gradient {name}", g, ref["grad_" + name.replace("/", "_")], 0.99)
        else:
            compare(f"gradient {name}", g, ref["grad_" + name.replace("/", "_")], 0.03, relative=True)
    if failures:
        print(f"port check FAILED: {', '.join(failures)}")
        sys.exit(1)
    print("port check passed")


if __name__ == "__main__":
    main()
