"""
PyTorch port of maskcodec's three networks (src/nets/models.ts) and of the training-only operators they need
(homogeneous diffusion with its mask gradient, src/nets/diffusion-op.ts; the analytic mask prior,
src/mask/analytic.ts; dithered exact-count masks with a straight-through gradient, src/nets/train.ts and
src/mask/dither.ts).

Why it exists: tfjs-node-gpu cannot be installed here (its install downloads libtensorflow from outside the
npm registry), so training on a GPU runs this port instead. It reads and writes the tfjs weight
format of models/<id> unchanged (same names, same [k, k, Cin, Cout] kernel layout), so what it trains ships
and decodes through the TypeScript codec as before. torch/check_port.py checks it against the TypeScript
implementation on the same inputs (torch/reference.ts writes those).

Only the architecture of the shipped models is ported: density input, diffusion interpolation
corrected by the generator, analytic mask prior, leaky binarisation, optional bottlenecks, optional refiner.
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

DILATIONS = (1, 2, 5)


def keep_freed_memory():
    """Makes glibc's malloc keep freed memory for reuse instead of handing it back to the kernel.

    Why: PyTorch on the CPU allocates and frees tensors of megabytes every operation (the diffusion solve's
    conjugate gradients above all). glibc serves such sizes by mmap and returns them with munmap (or trims
    the heap), so every new tensor's pages fault in fresh from the kernel: measured on this
    machine, half of a refine.py process's CPU time was system time, and the diffusion interpolation of 16
    crops of 128x128 took 5.3 s against 1.3 s with these settings (the same as MALLOC_MMAP_THRESHOLD_,
    MALLOC_TRIM_THRESHOLD_ and MALLOC_TOP_PAD_ in the environment). Memory stays at its peak, which the
    scripts here reach within their first steps anyway. No-op where libc has no mallopt (not glibc).
    """
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
    ok = mallopt(M_MMAP_THRESHOLD, 256 << 20)  # up to 256 MB from the heap, not mmap
    ok &= mallopt(M_TRIM_THRESHOLD, 2**31 - 1)  # never trim the heap's top (the int's maximum)
    ok &= mallopt(M_TOP_PAD, 256 << 20)  # grow the heap in large steps
    return bool(ok)


MALLOC_TUNED = keep_freed_memory()


# ----------------------------------------------------------------------------------------------------------
# weights: the tfjs manifest format of src/nets/weights.ts


def load_tfjs_weights(model_dir):
    """Returns (meta, {name: float32 numpy array in tfjs layout}) from models/<id>/model.json + weights.bin.

    Every group's shards in order, as src/nets/weights.ts reads them: a model on a base lists the base's
    shard first ("../maskgan-v8-d05/weights.bin")."""
    with open(os.path.join(model_dir, "model.json")) as fh:
        manifest = json.load(fh)
    data, specs = b"", []
    for group in manifest["weightsManifest"]:
        for path in group["paths"]:
            with open(os.path.join(model_dir, path), "rb") as fh:
                data += fh.read()
        specs += group["weights"]
    out = {}
    offset = 0
    for spec in specs:
        count = int(np.prod(spec["shape"])) if spec["shape"] else 1
        if spec.get("quantization", {}).get("dtype") == "float16":
            values = np.frombuffer(data, dtype="<f2", count=count, offset=offset).astype(np.float32)
            offset += 2 * count
        else:
            values = np.frombuffer(data, dtype="<f4", count=count, offset=offset).astype(np.float32)
            offset += 4 * count
        out[spec["name"]] = values.reshape(spec["shape"])
    if offset != len(data):
        raise ValueError(f"{model_dir}: the shards have {len(data)} bytes, the manifest {offset}")
    return manifest["maskcodec"], out


# ----------------------------------------------------------------------------------------------------------
# networks


SUPPORTED = {"densityInput": True, "pullPush": True, "diffusionInput": True, "analyticMask": True}


def check_arch(arch):
    for key, value in SUPPORTED.items():
        if bool(arch.get(key)) != value:
            raise ValueError(f"torch port: architecture option {key}={arch.get(key)} is not ported")


def nchw(a, dev="cpu"):
    """An NHWC numpy array as a contiguous NCHW tensor on `dev`."""
    return torch.from_numpy(np.ascontiguousarray(np.transpose(a, (0, 3, 1, 2)))).to(dev)


def density_feature(d):
    """ln(D / 0.05) / ln 5 (ops.ts densityFeature)."""
    return math.log(d / 0.05) / math.log(5)


def conv_same(x, kernel, bias=None, stride=1, dilation=1):
    """TF 'same' convolution (conv.ts): NCHW input, kernel in tfjs layout [k, k, Cin, Cout]."""
    w = kernel.permute(3, 2, 0, 1)
    k = kernel.shape[0]
    eff = dilation * (k - 1) + 1
    h, wd = x.shape[2], x.shape[3]
    pad_h = max(0, (math.ceil(h / stride) - 1) * stride + eff - h)
    pad_w = max(0, (math.ceil(wd / stride) - 1) * stride + eff - wd)
    top, left = pad_h // 2, pad_w // 2
    if pad_h == pad_w and pad_h % 2 == 0:
        return F.conv2d(x, w, bias, stride=stride, padding=top, dilation=dilation)
    x = F.pad(x, (left, pad_w - left, top, pad_h - top))
    return F.conv2d(x, w, bias, stride=stride, dilation=dilation)


class Nets(torch.nn.Module):
    """The three networks' weights as named parameters (tfjs names, '/' replaced by '.')."""

    def __init__(self, arch, weights):
        super().__init__()
        check_arch(arch)
        self.arch = arch
        self.names = list(weights.keys())
        self.params = torch.nn.ParameterDict(
            {n.replace("/", "__"): torch.nn.Parameter(torch.tensor(v)) for n, v in weights.items()}
        )

    def w(self, name):
        return self.params[name.replace("/", "__")]

    def has(self, name):
        return name.replace("/", "__") in self.params

    def group(self, prefix):
        return [p for n, p in self.params.items() if n.startswith(prefix + "__")]

    def export(self):
        return {n: self.w(n).detach().cpu().numpy() for n in self.names}

    # --- hourglass (models.ts hourglass / branches / reduce)

    def reduce(self, name, x):
        key = f"{name}/reduce/kernel"
        return conv_same(x, self.w(key)) if self.has(key) else x

    def branches(self, name, x):
        x = self.reduce(name, x)
        outs = [
            F.elu(conv_same(x, self.w(f"{name}/d{d}/kernel"), self.w(f"{name}/d{d}/bias"), dilation=d))
            for d in DILATIONS
        ]
        return torch.cat(outs, 1)

    def hourglass(self, prefix, x, levels=None):
        levels = levels or self.arch["levels"]
        skips = []
        h = x
        for lv in range(levels):
            e = self.branches(f"{prefix}/down{lv}", h)
            skips.append(e)
            h = F.max_pool2d(e, 2, 2)
        for lv in range(levels - 1, -1, -1):
            e = self.branches(f"{prefix}/up{lv}", h)
            h = torch.cat([F.interpolate(e, scale_factor=2, mode="nearest"), skips[lv]], 1)
        h = self.reduce(f"{prefix}/out", h)
        out = None
        for d in DILATIONS:
            y = conv_same(h, self.w(f"{prefix}/out/d{d}/kernel"), self.w(f"{prefix}/out/d{d}/bias"), dilation=d)
            out = y if out is None else out + y
        return out

    # --- the generators and the critic

    def mask_logits(self, f, r, densities, analytic):
        """m(r, f): z = hourglass + analytic scores; f, r NCHW, analytic [N, 1, H, W]."""
        n, _, h, w = f.shape
        dplane = density_plane(densities, h, w, f)
        z = self.hourglass("mask", torch.cat([r, f, dplane], 1))
        return z + analytic

    def inpaint(self, f, b, r, densities, qplanes=None):
        """g(r, b, Bf) corrects the diffusion interpolation: returns u = (1 - b) g + b f."""
        n, _, h, w = f.shape
        known = b * f
        pp = DiffusionInterpolation.apply(f, b)
        dplane = density_plane(densities, h, w, f)
        z = self.hourglass("gen", torch.cat([r, b, known, pp, dplane], 1))
        g = torch.clamp(pp + 0.2 * z, 0, 1)
        u = (1 - b) * g + known
        return self.refine(u, b, known, pp, dplane, qplanes) if self.arch.get("refiner") else u

    def refine(self, u, b, known, pp, dplane, qplanes=None):
        """The refiner hourglass "ref" (models.ts ArchOptions.refiner): u' = (1 - b) clip(u + 0.2 z', 0, 1) + b f.

        A refiner with `quantised` also reads the two step planes of quantisation_planes (zero: exact values)."""
        inputs = [u, b, known, pp, dplane]
        if self.arch["refiner"].get("quantised"):
            inputs.append(qplanes if qplanes is not None else torch.zeros_like(u[:, :2]))
        z = self.hourglass("ref", torch.cat(inputs, 1), self.arch["refiner"]["levels"])
        return (1 - b) * torch.clamp(u + 0.2 * z, 0, 1) + known

    def critic(self, u, b):
        h = torch.cat([u, b], 1)
        layers = self.arch["criticLayers"]
        for lv in range(layers):
            k = unit_norm(self.w(f"critic/f{lv}/kernel"))
            h = F.leaky_relu(conv_same(h, k, self.w(f"critic/f{lv}/bias"), stride=2), 0.2)
        pooled = h.mean(dim=(2, 3))
        return (pooled @ unit_norm(self.w("critic/dense/kernel")) + self.w("critic/dense/bias")).reshape(-1)


def quantisation_planes(luma_levels, chroma_levels, h, w, like):
    """models.ts quantisationPlanes: per sample, 16 / (L - 1) for the luma and the chroma quantiser (0: exact)."""
    feat = lambda levels: [0.0 if not L else 16.0 / (L - 1) for L in levels]
    t = torch.tensor([feat(luma_levels), feat(chroma_levels)], dtype=like.dtype, device=like.device).T
    return t.reshape(-1, 2, 1, 1).expand(-1, 2, h, w)


def quantise_ycbcr(f, luma_levels, chroma_levels):
    """The values the codec's decoder sees (src/codec/stream.ts, colour "ycbcr"): f NCHW RGB on [0, 1] ->
    JFIF YCbCr on [0, 255], each channel on its uniform quantiser's levels, back to RGB clamped to [0, 1].
    A level count of 0 (or None) leaves that sample exact."""
    x = f.double() * 255
    r, g, bl = x[:, 0], x[:, 1], x[:, 2]
    y = 0.299 * r + 0.587 * g + 0.114 * bl
    cb = 128 + (bl - y) / (2 * (1 - 0.114))
    cr = 128 + (r - y) / (2 * (1 - 0.299))

    def q(v, levels):
        L = torch.tensor([float(l or 0) for l in levels], dtype=v.dtype).reshape(-1, 1, 1)
        step = 255 / torch.clamp(L - 1, min=1)
        vq = torch.round(torch.clamp(v, 0, 255) / step) * step
        return torch.where(L > 0, vq, v)

    y, cb, cr = q(y, luma_levels), q(cb, chroma_levels), q(cr, chroma_levels)
    r2 = y + 2 * (1 - 0.299) * (cr - 128)
    b2 = y + 2 * (1 - 0.114) * (cb - 128)
    g2 = (y - 0.299 * r2 - 0.114 * b2) / 0.587
    out = torch.stack([r2, g2, b2], 1).clamp(0, 255) / 255
    exact = torch.tensor([not l and not c for l, c in zip(luma_levels, chroma_levels)]).reshape(-1, 1, 1, 1)
    return torch.where(exact, f.double(), out).to(f.dtype)


def unit_norm(kernel):
    axes = tuple(range(kernel.dim() - 1))
    return kernel / torch.sqrt((kernel * kernel).sum(dim=axes, keepdim=True) + 1e-12)


def density_plane(densities, h, w, like):
    feats = torch.tensor([density_feature(d) for d in densities], dtype=like.dtype, device=like.device)
    return feats.reshape(-1, 1, 1, 1).expand(-1, 1, h, w)


def binarise_logits_forward(z):
    """The network's own rounding (forward of ops.ts binariseLogits)."""
    return torch.floor(torch.clamp(0.2 * z + 0.5, 0, 1) + 0.5)


# ----------------------------------------------------------------------------------------------------------
# homogeneous diffusion with the exact mask gradient (diffusion-op.ts), batched Jacobi-preconditioned CG

CG_TOLERANCE = 1e-4


def laplacian(x):
    """4-neighbour graph Laplacian with reflecting borders: sum over neighbours of (x_j - x_i)."""
    p = F.pad(x, (1, 1, 1, 1), mode="replicate")
    return p[:, :, :-2, 1:-1] + p[:, :, 2:, 1:-1] + p[:, :, 1:-1, :-2] + p[:, :, 1:-1, 2:] - 4 * x


def degrees(h, w, like):
    deg = torch.full((1, 1, h, w), 4.0, dtype=like.dtype, device=like.device)
    deg[:, :, 0, :] -= 1
    deg[:, :, -1, :] -= 1
    deg[:, :, :, 0] -= 1
    deg[:, :, :, -1] -= 1
    return deg


def solve_unknown(rhs, unknown, tol=CG_TOLERANCE, max_iter=3000, check_every=25):
    """Solves -L_UU x_U = rhs_U per sample and channel (x = 0 on known pixels) by Jacobi-preconditioned CG.

    rhs, unknown: [N, C, H, W] and [N, 1, H, W]. The residual is checked every `check_every` iterations
    (a device sync); every system stops only when all have a relative residual below `tol`."""
    n, c, h, w = rhs.shape
    inv_deg = (1.0 / degrees(h, w, rhs)) * unknown

    def apply(x):
        return -laplacian(x) * unknown

    x = torch.zeros_like(rhs)
    r = rhs * unknown
    norm_b = torch.sqrt((r * r).sum(dim=(2, 3), keepdim=True))
    z = r * inv_deg
    p = z.clone()
    rz = (r * z).sum(dim=(2, 3), keepdim=True)
    for it in range(max_iter):
        ap = apply(p)
        pap = (p * ap).sum(dim=(2, 3), keepdim=True)
        alpha = rz / torch.where(pap > 0, pap, torch.ones_like(pap))
        alpha = torch.where(pap > 0, alpha, torch.zeros_like(alpha))
        x = x + alpha * p
        r = r - alpha * ap
        z = r * inv_deg
        rz_new = (r * z).sum(dim=(2, 3), keepdim=True)
        beta = rz_new / torch.where(rz > 0, rz, torch.ones_like(rz))
        beta = torch.where(rz > 0, beta, torch.zeros_like(beta))
        p = z + beta * p
        rz = rz_new
        if (it + 1) % check_every == 0:
            rel = torch.sqrt((r * r).sum(dim=(2, 3), keepdim=True)) / torch.clamp(norm_b, min=1e-30)
            if float(rel.max()) < tol:
                break
    return x


class DiffusionInterpolation(torch.autograd.Function):
    """u: c (u - f) - (1 - c) L u = 0, c = [b > 0.5]; backward: dE/dc exactly, f gets none (it is data)."""

    @staticmethod
    def forward(ctx, f, b):
        known = (b > 0.5).to(f.dtype)
        unknown = 1 - known
        any_known = known.sum(dim=(1, 2, 3), keepdim=True) > 0
        solve_in = f.double()
        kd, ud = known.double(), unknown.double()
        v = solve_unknown(laplacian(kd * solve_in) * ud, ud)
        u = (kd * solve_in + v).to(f.dtype)
        u = torch.where(any_known, u, torch.full_like(u, 0.5))
        ctx.save_for_backward(f, known, u, any_known)
        return u

    @staticmethod
    def backward(ctx, g):
        f, known, u, any_known = ctx.saved_tensors
        unknown = 1 - known
        gd, ud, kd = g.double(), unknown.double(), known.double()
        mu = solve_unknown(gd * ud, ud)
        lam = gd + laplacian(mu)
        ud64, fd = u.double(), f.double()
        grad = (ud * mu * (fd - ud64) - kd * lam * laplacian(ud64)).sum(dim=1, keepdim=True)
        grad = torch.where(any_known, grad, torch.zeros_like(grad))
        return None, grad.to(g.dtype)


def ssim_per_image(x, y):
    """Mean SSIM per image of [N, C, H, W] tensors on [0, 1]: src/image/metrics.ts `ssim` (Wang et al.: 11x11
    Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, valid positions, mean over channels), differentiable."""
    n, c, h, w = x.shape
    size = min(11, (min(h, w) - 1) | 1)
    sigma = 1.5 * size / 11
    t = torch.arange(size, dtype=x.dtype, device=x.device) - (size - 1) / 2
    k = torch.exp(-(t * t) / (2 * sigma * sigma))
    k = k / k.sum()

    def blur(a):  # separable valid filtering of every channel
        a = a.reshape(n * c, 1, h, w)
        a = F.conv2d(a, k.view(1, 1, 1, size))
        return F.conv2d(a, k.view(1, 1, size, 1))

    c1, c2 = 0.01**2, 0.03**2
    mx, my = blur(x), blur(y)
    vx = blur(x * x) - mx * mx
    vy = blur(y * y) - my * my
    cxy = blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return s.reshape(n, c, -1).mean(dim=(1, 2))


# ----------------------------------------------------------------------------------------------------------
# the analytic mask prior (analytic.ts analyticScores, range 1)


def analytic_scores(f_nhwc, densities):
    """log(|Δ(G_σ * grey)| + 0.5/255), mean-free, σ = 0.4 / sqrt(D); f [N, H, W, 3] on [0, 1] -> [N, H, W]."""
    n, h, w, _ = f_nhwc.shape
    out = np.empty((n, h, w), dtype=np.float32)
    grey = f_nhwc.astype(np.float64).mean(axis=3)
    for i in range(n):
        sigma = 0.4 / math.sqrt(densities[i])
        rad = max(1, math.ceil(3 * sigma))
        ker = np.exp(-(np.arange(-rad, rad + 1) ** 2) / (2 * sigma * sigma))
        ker /= ker.sum()
        g = grey[i]
        padded = np.pad(g, ((0, 0), (rad, rad)), mode="symmetric")
        tmp = sum(ker[j] * padded[:, j : j + w] for j in range(2 * rad + 1))
        padded = np.pad(tmp, ((rad, rad), (0, 0)), mode="symmetric")
        sm = sum(ker[j] * padded[j : j + h, :] for j in range(2 * rad + 1))
        p = np.pad(sm, 1, mode="edge")
        lap = np.abs(p[1:-1, 2:] + p[1:-1, :-2] + p[2:, 1:-1] + p[:-2, 1:-1] - 4 * sm)
        s = np.log(lap + 0.5 / 255)
        out[i] = (s - s.mean()).astype(np.float32)
    return out


# ----------------------------------------------------------------------------------------------------------
# mulberry32 (ops.ts Rng), vectorised: the validation noise of the TypeScript trainer, value for value


class Mulberry32:
    def __init__(self, state):
        self.state = state & 0xFFFFFFFF

    def fill64(self, count):
        """The next `count` draws of rng.next(), as float64 (for comparisons like rng.next() < density)."""
        m = np.uint64(0xFFFFFFFF)
        k = np.arange(1, count + 1, dtype=np.uint64)
        t = (np.uint64(self.state) + k * np.uint64(0x6D2B79F5)) & m
        if count > 0:
            self.state = int(t[-1])
        t = ((t ^ (t >> np.uint64(15))) * (t | np.uint64(1))) & m
        t = (t ^ ((t + (((t ^ (t >> np.uint64(7))) * (t | np.uint64(61))) & m)) & m)) & m
        return ((t ^ (t >> np.uint64(14))) & m).astype(np.float64) / 4294967296.0

    def fill(self, count):
        """The same draws stored as float32, as rng.fill(Float32Array) does."""
        return self.fill64(count).astype(np.float32)


def target_count(pixels, density):
    return min(pixels, max(1, int(math.floor(density * pixels + 0.5))))
