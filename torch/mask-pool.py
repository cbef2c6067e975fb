"""
A pool of training samples for torch/refine.py: random 128x128 crops of BSDS500 train (with flips, as
train.py), densities log-uniform in MIN:MAX, the frozen model's own dithered masks (one mask-noise draw each)
and their diffusion interpolations. Precomputing them makes a refiner step ~3x cheaper than a GAN step.

    python3 torch/mask-pool.py MODEL MIN:MAX COUNT SEED OUT.npz     # 6000 crops: ~14 min on one core
"""
import sys, time
sys.path.insert(0, "torch")
import numpy as np, torch
from maskgan import Nets, load_tfjs_weights, nchw, analytic_scores, DiffusionInterpolation
from dither import dither_masks
from train import load_images, sample_batch
torch.set_num_threads(1)
model, dr, count, seed, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
lo, hi = (float(x) for x in dr.split(":"))
meta, w = load_tfjs_weights(model); nets = Nets(meta["arch"], w)
images = load_images("../shared/datasets/bsds500/train")
rng = np.random.default_rng(seed); torch.manual_seed(seed)
B, S = 16, 128
F_, M_, P_, D_ = [], [], [], []
t0 = time.time()
with torch.no_grad():
    for i in range(0, count, B):
        f_np = sample_batch(images, rng, S, B)
        ds = list(np.exp(np.log(lo) + rng.random(B) * (np.log(hi) - np.log(lo))))
        f = nchw(f_np)
        z = nets.mask_logits(f, torch.rand(B, 1, S, S), ds, torch.from_numpy(analytic_scores(f_np, ds)).unsqueeze(1))
        b, _ = dither_masks(z, ds)
        pp = DiffusionInterpolation.apply(f, b)
        F_.append(np.round(f_np * 255).astype(np.uint8)); M_.append(b.numpy().astype(np.uint8)); P_.append(pp.numpy().astype(np.float16)); D_.append(np.array(ds, np.float32))
        if i % 320 == 0: print(i, f"{time.time()-t0:.0f}s", flush=True)
np.savez(out, f=np.concatenate(F_), b=np.concatenate(M_), pp=np.concatenate(P_), d=np.concatenate(D_))
print("done", time.time() - t0)
