"""
Exact-count dithered masks (src/mask/dither.ts ditherScores and densityMap), compiled by numba, and the
straight-through operator the trainer wraps around them (src/nets/train.ts ditherMaskStraightThrough).

Serpentine Floyd-Steinberg error diffusion is sequential per image, so it runs on the CPU (one numba thread
per sample) while the networks run on the GPU; a 64x64 or 128x128 mask takes well under a millisecond.
"""

import math
import time

import numpy as np
import torch
from maskgan import target_count

try:
    from numba import njit, prange
except ImportError:  # pragma: no cover - slow fallback, only for machines without numba
    def njit(*args, **kwargs):
        if args and callable(args[0]):
            return args[0]
        return lambda fn: fn

    prange = range


@njit(cache=True)
def _logistic_weights(scores, mx):
    w = np.empty(scores.size, dtype=np.float64)
    for i in range(scores.size):
        w[i] = math.exp(min(700.0, mx - scores[i]))
    return w


@njit(cache=True)
def _map_at(w, mx, t, target):
    big_t = math.exp(t - mx)
    total = 0.0
    for i in range(w.size):
        v = 1.0 / (1.0 + big_t * w[i])
        target[i] = v
        total += v
    return total


@njit(cache=True)
def _bisect_offset(w, mx, k, p, mn):
    lo = mn - 40.0
    hi = mx + 40.0
    total = 0.0
    for i in range(w.size):
        total += 1.0 / w[i]
    t = mx + math.log(total / k)
    if not (t > lo and t < hi):
        t = (lo + hi) / 2
    for _ in range(60):
        big_t = math.exp(t - mx)
        s = 0.0
        slope = 0.0
        for i in range(w.size):
            v = 1.0 / (1.0 + big_t * w[i])
            p[i] = v
            s += v
            slope += v * (1 - v)
        if abs(s - k) <= 1e-9 * k:
            break
        if s > k:
            lo = t
        else:
            hi = t
        newton = t + (s - k) / slope if slope > 0 else np.nan
        t = newton if (newton > lo and newton < hi) else (lo + hi) / 2
    _map_at(w, mx, t, p)
    return t


@njit(cache=True)
def _floyd_steinberg(density, width, height):
    lead = min(16, height - 1)
    rows = height + lead
    p = np.empty(width * rows, dtype=np.float64)
    for y in range(rows):
        source = lead - y if y < lead else y - lead
        for x in range(width):
            p[y * width + x] = density[source * width + x]
    full = np.zeros(width * rows, dtype=np.uint8)
    for y in range(rows):
        ltr = y % 2 == 0
        dx = 1 if ltr else -1
        for j in range(width):
            x = j if ltr else width - 1 - j
            i = y * width + x
            v = 1 if p[i] >= 0.5 else 0
            full[i] = v
            e = p[i] - v
            if 0 <= x + dx < width:
                p[i + dx] += e * 7 / 16
            if y + 1 < rows:
                if 0 <= x - dx < width:
                    p[i + width - dx] += e * 3 / 16
                p[i + width] += e * 5 / 16
                if 0 <= x + dx < width:
                    p[i + width + dx] += e / 16
    return full[lead * width :].copy()


@njit(cache=True)
def _key(i):
    return ((i * 2654435761) & 0xFFFFFFFF) / 4294967296.0


@njit(cache=True)
def _better(scores, a, b):
    return scores[a] > scores[b] or (scores[a] == scores[b] and _key(a) < _key(b))


@njit(cache=True)
def _correct_count(mask, scores, have, k):
    n = mask.size
    adding = have < k
    if abs(k - have) > 64:
        # sort by score descending, ties by key ascending
        keys = np.empty(n, dtype=np.float64)
        for i in range(n):
            keys[i] = _key(i)
        # score descending, ties by key ascending: stable sorts, secondary key first
        by_key = np.argsort(keys, kind="mergesort")
        neg = np.empty(n, dtype=np.float64)
        for j in range(n):
            neg[j] = -np.float64(scores[by_key[j]])
        order = by_key[np.argsort(neg, kind="mergesort")]
        if not adding:
            order = order[::-1]
        for j in range(n):
            if have == k:
                break
            i = order[j]
            if (mask[i] == 1) == adding:
                continue
            mask[i] = 1 if adding else 0
            have += 1 if adding else -1
        return
    for _ in range(abs(k - have)):
        pick = -1
        for i in range(n):
            if (mask[i] == 1) == adding:
                continue
            if pick < 0 or (_better(scores, i, pick) if adding else _better(scores, pick, i)):
                pick = i
        mask[pick] = 1 if adding else 0


@njit(cache=True)
def dither_scores(scores, width, height, count):
    """ditherScores: exactly `count` pixels, error-diffused from p = sigmoid(scores - t)."""
    n = width * height
    k = max(0, min(n, count))
    if k == 0:
        return np.zeros(n, dtype=np.uint8)
    if k == n:
        return np.ones(n, dtype=np.uint8)
    mn = scores.min()
    mx = scores.max()
    p = np.empty(n, dtype=np.float64)
    w = _logistic_weights(scores, mx)
    t0 = _bisect_offset(w, mx, k, p, mn)
    best = np.zeros(n, dtype=np.uint8)
    best_gap = np.inf
    t_lo = t0 - 5
    t_hi = t0 + 5
    t = t0
    for _ in range(24):
        _map_at(w, mx, t, p)
        mask = _floyd_steinberg(p, width, height)
        have = int(mask.sum())
        if abs(have - k) < best_gap:
            best_gap = float(abs(have - k))
            best = mask
        if abs(have - k) <= 8:
            break
        if have < k:
            t_hi = t
        else:
            t_lo = t
        guess = t + math.log(have / k) if have > 0 else np.nan
        t = guess if (guess > t_lo and guess < t_hi) else (t_lo + t_hi) / 2
    have = int(best.sum())
    if have != k:
        _correct_count(best, scores, have, k)
    return best


@njit(cache=True)
def density_map(scores, count):
    n = scores.size
    p = np.empty(n, dtype=np.float64)
    k = max(0, min(n, count))
    if k == 0 or k == n:
        p[:] = 0.0 if k == 0 else 1.0
        return p
    mx = scores.max()
    w = _logistic_weights(scores, mx)
    _bisect_offset(w, mx, k, p, scores.min())
    return p


@njit(parallel=True, cache=True)
def dither_batch(z, counts, width, height, with_weight):
    """z [N, H*W] float32 -> (masks [N, H*W] float32, weights p (1 - p) [N, H*W] float32)."""
    n = z.shape[0]
    masks = np.zeros(z.shape, dtype=np.float32)
    weights = np.zeros(z.shape, dtype=np.float32)
    for s in prange(n):
        m = dither_scores(z[s], width, height, counts[s])
        for i in range(z.shape[1]):
            masks[s, i] = m[i]
        if with_weight:
            p = density_map(z[s], counts[s])
            for i in range(z.shape[1]):
                weights[s, i] = p[i] * (1 - p[i])
    return masks, weights


#: seconds spent in dither_masks (device transfers included), for the trainer's profile line
DITHER_SECONDS = [0.0]


def dither_masks(z, densities, with_weight=False):
    """Dithered exact-count masks of logits z [N, 1, H, W] (any device): (mask, weight) as z's dtype/device."""
    started = time.perf_counter()
    n, _, h, w = z.shape
    counts = np.array([target_count(h * w, d) for d in densities], dtype=np.int64)
    zn = z.detach().reshape(n, h * w).float().cpu().numpy()
    masks, weights = dither_batch(np.ascontiguousarray(zn), counts, w, h, with_weight)
    to = lambda a: torch.from_numpy(a).reshape(n, 1, h, w).to(device=z.device, dtype=z.dtype)
    out = to(masks), to(weights)
    DITHER_SECONDS[0] += time.perf_counter() - started
    return out


class DitherStraightThrough(torch.autograd.Function):
    """Forward: the dithered mask of exactly targetCount pixels; backward: dL/dz = w (dy - Σ w dy / Σ w)."""

    @staticmethod
    def forward(ctx, z, densities):
        mask, weight = dither_masks(z, densities, with_weight=True)
        ctx.save_for_backward(weight)
        return mask

    @staticmethod
    def backward(ctx, dy):
        (weight,) = ctx.saved_tensors
        mean = (weight * dy).sum(dim=(1, 2, 3), keepdim=True) / (weight.sum(dim=(1, 2, 3), keepdim=True) + 1e-12)
        return weight * (dy - mean), None
