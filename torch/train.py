"""
Joint Wasserstein training of the mask generator, the inpainting generator and the critic with PyTorch, on a
GPU when there is one: the same losses, masks and validation as src/nets/train.ts (ganStep with
`--selection dither`, validate), resumed from a shipped model folder (`--init models/<id>`, like the TypeScript
trainer's `--init-from`: weights, step count and logs carry over; Adam restarts).

Output: one tar file (`--out run.tar`), rewritten every `--save-seconds` and at the end, so that a run cut off
by a time limit still leaves its last state: best.{json,f32} (best validation MAE with exact-density dithered
masks, the figure `maskcodec train --select-by mae` picks by), latest.{json,f32}, train-log.csv and
val-log.csv (the TypeScript trainer's formats, continuing the model's own logs), state.json. `npx tsx
torch/import.ts` turns it into a model folder with card and plot.

    python3 torch/train.py --init models/maskgan-v8-d05 --density 0.04:0.07 --data DIR --val VAL.npy \
        --minutes 7 --batch 64 --lr 1e-4 --out run.tar
"""

import argparse
import io
import json
import os
import queue
import signal
import sys
import tarfile
import threading
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dither  # noqa: E402
from dither import DitherStraightThrough, dither_masks  # noqa: E402
from maskgan import (  # noqa: E402
    Mulberry32,
    Nets,
    analytic_scores,
    binarise_logits_forward,
    load_tfjs_weights,
    nchw,
    ssim_per_image,
    target_count,
)

TRAIN_LOG_HEADER = "step,phase,wall_s,samples,loss_g,loss_m,loss_c,l1_255,density_err,d_real,d_fake"
VAL_LOG_HEADER = "step,wall_s,density,mae_exact,mae_round,mae_random,density_round,mask_loss,mean_mask_loss"


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", required=True, help="model folder (models/<id>) or an earlier run's tar to start from")
    ap.add_argument("--init-weights", default="latest", choices=["latest", "best"], help="with a tar: which weights")
    ap.add_argument("--density", required=True, help="D or MIN:MAX (log-uniform per sample)")
    ap.add_argument("--data", required=True, help="folder of training images (BSDS500 train)")
    ap.add_argument("--val", required=True, help=".npy of validation crops, uint8 [N, S, S, 3] (torch/val-crops.ts)")
    ap.add_argument("--out", required=True, help="output tar file")
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument(
        "--lr-warmup",
        type=int,
        default=100,
        help="steps of linear learning-rate warm-up when the Adam states start fresh (0: none); not used when "
        "the states come from the --init tar",
    )
    ap.add_argument("--alpha", type=float, default=0.005, help="Eq. (3) weight in the paper's units")
    ap.add_argument("--beta", type=float, default=1.0)
    ap.add_argument(
        "--ssim-weight",
        type=float,
        default=0.0,
        help="adds W (1 - SSIM(u, f)) to the generators' loss (not in the paper; 0: the paper's Eqs. 3-4)",
    )
    ap.add_argument("--minutes", type=float, default=7.0, help="training time (validation and saving included)")
    ap.add_argument("--max-steps", type=int, default=10**9)
    ap.add_argument("--val-every", type=int, default=200)
    ap.add_argument("--log-every", type=int, default=10)
    ap.add_argument("--save-seconds", type=float, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument(
        "--prefetch", type=int, default=2, help="batches prepared ahead in a background thread (0: inline)"
    )
    return ap.parse_args(argv)


def load_images(folder):
    from PIL import Image

    names = sorted(n for n in os.listdir(folder) if n.lower().endswith((".jpg", ".jpeg", ".png")))
    images = []
    for n in names:
        with Image.open(os.path.join(folder, n)) as im:
            images.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
    if not images:
        raise SystemExit(f"no images in {folder}")
    return images


def load_init(path, which):
    """(meta, weights, {log name: text}, Adam states or None) of a model folder, or of an earlier run's tar (its
    `which` weights; the Adam states only with the latest weights, which they belong to)."""
    names = ("train-log.csv", "val-log.csv")
    if not path.endswith(".tar"):
        meta, weights = load_tfjs_weights(path)
        logs = {}
        for n in names:
            p = os.path.join(path, n)
            logs[n] = open(p).read() if os.path.exists(p) else None
        return meta, weights, logs, None
    with tarfile.open(path) as tar:
        read = lambda n: tar.extractfile(n).read()
        state = json.loads(read("state.json"))
        if which == "best" and state.get("bestStep") is None:
            raise SystemExit(f"{path}: the run has no validated best weights; use --init-weights latest")
        specs = json.loads(read(which + ".json"))["weights"]
        blob = read(which + ".f32")
        logs = {n: read(n).decode() for n in names}
        adam = read("adam.pt") if which == "latest" and "adam.pt" in tar.getnames() else None
    weights = {
        s["name"]: np.frombuffer(blob, dtype="<f4", count=int(np.prod(s["shape"])), offset=s["offset"]).reshape(s["shape"]).copy()
        for s in specs
    }
    meta = dict(state["initMeta"])
    meta["chain"] = state.get("chain", [])
    meta["densityRange"] = state["densityRange"]
    meta["step"] = state["bestStep"] if which == "best" else state["step"]
    return meta, weights, logs, adam


def sample_batch(images, rng, size, batch):
    """Random crops with random flips (data.ts sampleBatch), NHWC float32 on [0, 1]."""
    out = np.empty((batch, size, size, 3), dtype=np.float32)
    for n in range(batch):
        img = images[rng.integers(len(images))]
        h, w, _ = img.shape
        y0 = rng.integers(h - size + 1)
        x0 = rng.integers(w - size + 1)
        crop = img[y0 : y0 + size, x0 : x0 + size]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        if rng.random() < 0.5:
            crop = crop[::-1]
        out[n] = crop / 255.0
    return out


def validation_densities(lo, hi):
    if lo == hi:
        return [lo]
    return [d for d in (0.01, 0.02, 0.05, 0.1, 0.2) if lo - 1e-12 <= d <= hi + 1e-12]


class BatchPrefetcher:
    """Runs `make` (the next batch: crops, densities and analytic prior, numpy on the CPU) in a background
    thread, `depth` batches ahead, so that the CPU work overlaps the GPU's. One thread calls `make`, so the
    draws are the same, in the same order, as sampling inline."""

    def __init__(self, make, depth):
        self.make = make
        self.queue = queue.Queue(maxsize=depth)
        self.error = None
        threading.Thread(target=self.loop, daemon=True).start()

    def loop(self):
        try:
            while True:
                self.queue.put(self.make())
        except BaseException as e:  # handed to the training thread, which raises it
            self.error = e
            self.queue.put(None)

    def next(self):
        item = self.queue.get()
        if item is None:
            raise RuntimeError("batch preparation failed") from self.error
        return item


class Trainer:
    def __init__(self, args):
        self.args = args
        self.dev = torch.device(args.device)
        torch.set_num_threads(args.threads)
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        meta, weights, logs, adam = load_init(args.init, args.init_weights)
        self.meta = meta
        self.nets = Nets(meta["arch"], weights).to(self.dev)
        if ":" in args.density:
            self.dmin, self.dmax = (float(x) for x in args.density.split(":"))
        else:
            self.dmin = self.dmax = float(args.density)
        self.step = int(meta.get("step", 0))
        self.start_step = self.step
        self.images = load_images(args.data)
        self.val = np.load(args.val).astype(np.float32) / 255.0
        self.rng = np.random.default_rng(args.seed * 7919 + self.step)
        torch.manual_seed(args.seed * 104729 + self.step)
        opt = lambda prefix: torch.optim.Adam(self.nets.group(prefix), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
        self.opt_gen, self.opt_mask, self.opt_critic = opt("gen"), opt("mask"), opt("critic")
        # A fresh Adam's first update moves every weight by about lr (m / sqrt(v) = sign(g) after bias
        # correction): from a trained model at 2e-4 that cost +0.94 validation MAE at 5 % after one step,
        # recovered only after 200 steps. So: restore the states a run's tar carries, else warm up.
        self.warmup = 0 if adam is not None else args.lr_warmup
        if adam is not None:
            states = torch.load(io.BytesIO(adam), map_location=self.dev)
            for name, o in self.optimisers().items():
                o.load_state_dict(states[name])
        self.set_lr(0)
        print(
            f"[{args.density}] Adam: "
            + ("states restored from the --init tar" if adam is not None else f"fresh, lr warm-up {self.warmup} steps"),
            flush=True,
        )
        self.alpha = args.alpha / (args.size * args.size * 3)
        self.train_log, self.val_log, self.wall0, self.samples0 = self.inherit_logs(logs)
        self.samples = self.samples0
        self.best = None  # (mae, step, weights)
        self.acc = []
        self.prep_seconds = 0.0  # waiting for batch sampling and the analytic prior (CPU), for the profile line
        self.prefetcher = BatchPrefetcher(self.make_batch, args.prefetch) if args.prefetch > 0 else None
        self.started = time.time()

    def optimisers(self):
        return {"gen": self.opt_gen, "mask": self.opt_mask, "critic": self.opt_critic}

    def set_lr(self, steps_done):
        """args.lr, scaled linearly from 1 / warmup to 1 over the warm-up's first steps of this run."""
        lr = self.args.lr * (min(1.0, (steps_done + 1) / self.warmup) if self.warmup > 0 else 1.0)
        for o in self.optimisers().values():
            for g in o.param_groups:
                g["lr"] = lr

    def inherit_logs(self, logs):
        """The model's own logs, cut at its step: the run continues them."""
        def rows(name, header):
            if logs.get(name) is None:
                return [header]
            lines = [l for l in logs[name].split("\n") if l]
            return [lines[0]] + [l for l in lines[1:] if float(l.split(",")[0]) <= self.step]

        train = rows("train-log.csv", TRAIN_LOG_HEADER)
        val = rows("val-log.csv", VAL_LOG_HEADER)
        wall, samples = 0.0, 0
        if len(train) > 1:
            last = train[-1].split(",")
            wall, samples = float(last[2]), int(float(last[3]))
        return train, val, wall, samples

    def wall(self):
        return self.wall0 + time.time() - self.started

    def densities(self, n):
        if self.dmin == self.dmax:
            return [self.dmin] * n
        u = self.rng.random(n)
        return list(np.exp(np.log(self.dmin) + u * (np.log(self.dmax) - np.log(self.dmin))))

    def make_batch(self):
        a = self.args
        f_np = sample_batch(self.images, self.rng, a.size, a.batch)
        ds = [float(d) for d in self.densities(a.batch)]
        return f_np, ds, analytic_scores(f_np, ds)

    def train_step(self):
        a, nets, dev = self.args, self.nets, self.dev
        started = time.perf_counter()
        f_np, ds, analytic_np = self.prefetcher.next() if self.prefetcher else self.make_batch()
        analytic = torch.from_numpy(analytic_np).unsqueeze(1).to(dev)
        self.prep_seconds += time.perf_counter() - started
        f = nchw(f_np, dev)
        shape1 = (a.batch, 1, a.size, a.size)
        r_m = torch.rand(shape1, device=dev)
        r_g = torch.rand(shape1, device=dev)
        z = nets.mask_logits(f, r_m, ds, analytic)
        b = DitherStraightThrough.apply(z, ds)
        u = nets.inpaint(f, b, r_g, ds)
        l1 = (f - u).abs().mean()
        d_fake = nets.critic(u, b).mean()
        target = torch.tensor(ds, dtype=f.dtype, device=dev)
        dens = (b.mean(dim=(1, 2, 3)) - target).abs().mean()
        loss = -self.alpha * d_fake + l1 + dens
        if a.ssim_weight > 0:
            loss = loss + a.ssim_weight * (1 - ssim_per_image(u, f).mean())
        self.opt_gen.zero_grad(set_to_none=True)
        self.opt_mask.zero_grad(set_to_none=True)
        loss.backward()
        self.opt_gen.step()
        self.opt_mask.step()
        # critic, Eq. (2), on this step's detached u and b
        self.opt_critic.zero_grad(set_to_none=True)
        ud, bd = u.detach(), b.detach()
        d_real = nets.critic(f, bd).mean()
        loss_c = nets.critic(ud, bd).mean() - d_real
        loss_c.backward()
        self.opt_critic.step()
        self.step += 1
        self.samples += a.batch
        self.set_lr(self.step - self.start_step)
        l1v, dfv, dv = l1.item(), d_fake.item(), dens.item()
        self.acc.append([-self.alpha * dfv + l1v, dv + a.beta * l1v, loss_c.item(), l1v * 255, dv, d_real.item(), dfv])

    def flush_log(self):
        if not self.acc:
            return
        mean = np.mean(np.array(self.acc), axis=0)
        fmt = lambda x: f"{x:.5g}"
        self.train_log.append(f"{self.step},gan,{self.wall():.1f},{self.samples},{','.join(fmt(x) for x in mean)}")
        self.acc = []

    @torch.no_grad()
    def validate(self, log=True, tag=None):
        """validate() of src/nets/train.ts: same crops, same noise (mulberry32 12345, chunks of 8)."""
        nets, dev = self.nets, self.dev
        n_all, S = self.val.shape[0], self.val.shape[1]
        per = []
        for density in validation_densities(self.dmin, self.dmax):
            rng = Mulberry32(12345)
            noise_m, noise_g, random = [], [], []
            for start in range(0, n_all, 8):
                n = min(8, n_all - start)
                noise_m.append(rng.fill(n * S * S))
                noise_g.append(rng.fill(n * S * S))
                random.append((rng.fill64(n * S * S) < density).astype(np.float32))
            to = lambda parts: torch.from_numpy(np.concatenate(parts)).reshape(n_all, 1, S, S).to(dev)
            r_m, r_g, rand = to(noise_m), to(noise_g), to(random)
            ds = [density] * n_all
            f = nchw(self.val, dev)
            analytic = torch.from_numpy(analytic_scores(self.val, ds)).unsqueeze(1).to(dev)
            z = nets.mask_logits(f, r_m, ds, analytic)
            b_round = binarise_logits_forward(z)
            mae_of = lambda u: (f - u).abs().mean(dim=(1, 2, 3)).mean().item()
            mae = lambda b: mae_of(nets.inpaint(f, b, r_g, ds))
            mae_round = mae(b_round)
            mae_random = mae(rand)
            b_exact, _ = dither_masks(z, ds)
            u_exact = nets.inpaint(f, b_exact, r_g, ds)
            mae_exact = mae_of(u_exact)
            ssim_exact = ssim_per_image(u_exact, f).mean().item()
            dens_round = b_round.mean().item()
            per.append(
                dict(
                    density=density,
                    maeExact=mae_exact * 255,
                    ssimExact=ssim_exact,
                    maeRound=mae_round * 255,
                    maeRandom=mae_random * 255,
                    densityRound=dens_round,
                    maskLoss=abs(dens_round - density) + self.args.beta * mae_round,
                )
            )
        mask_loss = sum(p["maskLoss"] for p in per) / len(per)
        wall = f"{self.wall():.0f}"
        for p in per if log else []:
            self.val_log.append(
                f"{self.step},{wall},{p['density']},{p['maeExact']:.3f},{p['maeRound']:.3f},{p['maeRandom']:.3f},"
                f"{p['densityRound']:.5f},{p['maskLoss']:.5f},{mask_loss:.5f}"
            )
        result = dict(step=self.step, maskLoss=mask_loss, perDensity=per)
        mae = sum(p["maeExact"] for p in per) / len(per)
        if self.best is None or mae < self.best[0]:
            self.best = (mae, self.step, self.nets.export(), dict(result, weights=tag or "live"))
        print(
            f"[{self.args.density}] val step {self.step}{f' ({tag})' if tag else ''}: "
            + "; ".join(f"D={p['density']} MAE exact {p['maeExact']:.3f} SSIM {p['ssimExact']:.4f} round {p['maeRound']:.3f}" for p in per),
            flush=True,
        )
        return result

    def save(self, final=False):
        a = self.args
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:

            def add(name, data):
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))

            def add_weights(prefix, weights):
                specs, blobs, offset = [], [], 0
                for name, value in weights.items():
                    arr = np.ascontiguousarray(value, dtype="<f4")
                    specs.append({"name": name, "shape": list(arr.shape), "offset": offset})
                    blobs.append(arr.tobytes())
                    offset += arr.nbytes
                add(prefix + ".f32", b"".join(blobs))
                add(prefix + ".json", json.dumps({"weights": specs}).encode())

            add_weights("latest", self.nets.export())
            adam = io.BytesIO()
            torch.save({name: o.state_dict() for name, o in self.optimisers().items()}, adam)
            add("adam.pt", adam.getvalue())
            if self.best is not None:
                add_weights("best", self.best[2])
            add("train-log.csv", ("\n".join(self.train_log) + "\n").encode())
            add("val-log.csv", ("\n".join(self.val_log) + "\n").encode())
            state = dict(
                init=a.init,
                chain=self.meta.get("chain", []) + [f"{a.init} ({a.init_weights})" if a.init.endswith(".tar") else a.init],
                initMeta={k: v for k, v in self.meta.items() if k not in ("weightHash", "chain")},
                densityRange=[self.dmin, self.dmax],
                startStep=self.start_step,
                step=self.step,
                samples=self.samples,
                wallSeconds=round(self.wall(), 1),
                runSeconds=round(time.time() - self.started, 1),
                bestStep=None if self.best is None else self.best[1],
                bestMae=None if self.best is None else self.best[0],
                bestValidation=None if self.best is None else self.best[3],
                valCrops=int(self.val.shape[0]),
                final=final,
                options=vars(a),
                device=torch.cuda.get_device_name(0) if self.dev.type == "cuda" else "cpu",
                torch=torch.__version__,
            )
            add("state.json", json.dumps(state, indent=1).encode())
        tmp = a.out + ".tmp"
        with open(tmp, "wb") as fh:
            fh.write(buf.getvalue())
        os.replace(tmp, a.out)

    def run(self):
        a = self.args
        deadline = self.started + 60 * a.minutes
        self.validate(log=False)  # the starting point: already in the model's log
        self.save()
        last_save = time.time()
        try:
            self.train_loop(deadline, last_save)
        except KeyboardInterrupt:
            # Ctrl-C / SIGINT: keep what was trained since the last save (validated below, then saved)
            print(f"[{a.density}] interrupted at step {self.step}", flush=True)
        self.flush_log()
        if self.step % a.val_every != 0:
            self.validate()
        self.save(final=True)
        print(f"[{a.density}] done: steps {self.start_step} -> {self.step}; best val MAE {self.best[0]:.3f} at step {self.best[1]}", flush=True)

    def train_loop(self, deadline, last_save):
        a = self.args
        step_times = []
        dither_at_start = dither.DITHER_SECONDS[0]
        while self.step - self.start_step < a.max_steps:
            t0 = time.time()
            self.train_step()
            step_times.append(time.time() - t0)
            if self.step % a.log_every == 0:
                self.flush_log()
            if self.step % a.val_every == 0:
                self.validate()
            if time.time() - last_save > a.save_seconds:
                self.save()
                last_save = time.time()
                steps = len(step_times)
                print(
                    f"[{a.density}] step {self.step}, {np.mean(step_times[-50:]) * 1000:.0f} ms/step; per step so far: "
                    f"waiting for batch + prior {self.prep_seconds / steps * 1000:.0f} ms, dithering "
                    f"{(dither.DITHER_SECONDS[0] - dither_at_start) / steps * 1000:.0f} ms (validation's included)",
                    flush=True,
                )
            # stop early enough for one more validation and the save
            if time.time() + 2 * np.mean(step_times[-20:]) + 15 > deadline:
                break


def interrupt(signum, frame):
    raise KeyboardInterrupt


if __name__ == "__main__":
    # SIGTERM (a job's time limit, `kill`) ends a run like Ctrl-C: validated and saved
    signal.signal(signal.SIGTERM, interrupt)
    Trainer(parse_args()).run()
