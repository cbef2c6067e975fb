# Noise checks of a gan model on the validation crops (session 10, docs/notes/nets.md): the inpainting averaged over
# K draws of the generator noise, and how much the masks of different mask-noise draws overlap.
#
#   npx tsx torch/val-crops.ts ../shared/datasets/bsds500/val .gpu/val100.npy --count 100
#   python3 scripts/noise-draws.py models/maskgan-v8-d05 0.05 4
import sys, os
sys.path.insert(0, "torch")
import numpy as np, torch
from maskgan import Nets, load_tfjs_weights, nchw, analytic_scores, ssim_per_image, Mulberry32
from dither import dither_masks
torch.set_num_threads(1)
model, density, K = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
meta, w = load_tfjs_weights(model)
nets = Nets(meta["arch"], w)
val = np.load(".gpu/val100.npy").astype(np.float32) / 255.0
N, S = val.shape[0], val.shape[1]
f = nchw(val, torch.device("cpu"))
ds = [density] * N
with torch.no_grad():
    analytic = torch.from_numpy(analytic_scores(val, ds)).unsqueeze(1)
    g = torch.Generator().manual_seed(1)
    r_m = torch.rand((N, 1, S, S), generator=g)
    z = nets.mask_logits(f, r_m, ds, analytic)
    b, _ = dither_masks(z, ds)
    us = []
    for k in range(K):
        r_g = torch.rand((N, 1, S, S), generator=g)
        us.append(nets.inpaint(f, b, r_g, ds))
    mae = lambda u: (f - u).abs().mean().item() * 255
    single = [mae(u) for u in us]
    print("single draws:", " ".join(f"{m:.3f}" for m in single), "mean", f"{np.mean(single):.3f}")
    st = torch.stack(us)
    print(f"mean of {K}: {mae(st.mean(0)):.3f} SSIM {ssim_per_image(st.mean(0), f).mean().item():.4f}; median: {mae(st.median(0).values):.3f}; single SSIM {ssim_per_image(us[0], f).mean().item():.4f}")
    print("spread of outputs (mean abs dev, 255 units):", f"{(st - st.mean(0)).abs().mean().item()*255:.3f}")
    # mask noise: different r_m draws
    ms = []
    for k in range(4):
        r_m2 = torch.rand((N, 1, S, S), generator=g)
        b2, _ = dither_masks(nets.mask_logits(f, r_m2, ds, analytic), ds)
        ms.append(mae(nets.inpaint(f, b2, us and torch.rand((N,1,S,S), generator=g), ds)))
        print(f"mask draw {k}: MAE {ms[-1]:.3f}, mask overlap with draw 0: {((b2*b).sum()/b.sum()).item():.3f}")
