"""The training driver both scripts share: options, seeds, the iteration cap, progress, checkpoints, resume,
and the ONNX export at the end."""

import argparse
import json
import os
import random
import sys
import time
import warnings

import torch

from . import data
from .environment import sha256_file  # noqa: F401 (the training scripts import it from here)
from .errors import TrainError

STATE_FILE = "state.pt"


def common_args(prog, description, default_size, holdout=False):
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--images", required=True, help="folder of good images")
    p.add_argument("--out", required=True, help="ONNX model to write")
    p.add_argument("--work", help="checkpoint folder (default: OUT.work)")
    p.add_argument("--size", type=int, default=default_size, help="square input size in pixels")
    p.add_argument("--iterations", type=int, default=2000, help="iteration cap (S000: train until it)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--checkpoint-every", type=int, default=200, help="iterations between checkpoints")
    p.add_argument("--log-every", type=int, default=50, help="iterations between progress lines")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --work")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: one per core)")
    p.add_argument("--limit-images", type=int, default=0, help="use only the first K images (0: all)")
    if holdout:
        p.add_argument("--holdout", type=float, default=0.0,
                       help="leave every (1/F)th image in name order out, for `inspectd fit --holdout F`")
    return p


# Options that do not change the model: where it goes, how it is run and reported.
NOT_SETTINGS = ("out", "work", "resume", "log_every", "checkpoint_every", "device", "threads", "backbone_weights")


def recorded_settings(args, weights_sha=None):
    """The options that make the model, as the checkpoint and the model's metadata record them."""
    settings = {k: v for k, v in vars(args).items() if k not in NOT_SETTINGS}
    settings["backbone_weights_sha256"] = weights_sha
    return settings


def check_common(args):
    if args.iterations < 1:
        raise TrainError(f"--iterations {args.iterations} must be >= 1")
    if args.batch_size < 1:
        raise TrainError(f"--batch-size {args.batch_size} must be >= 1")
    if not args.lr > 0:
        raise TrainError(f"--lr {args.lr} must be > 0")
    if args.checkpoint_every < 1 or args.log_every < 1:
        raise TrainError("--checkpoint-every and --log-every must be >= 1")
    if not 0 <= getattr(args, "holdout", 0) <= 0.5:
        raise TrainError(f"--holdout {args.holdout} must be from 0 to 0.5, as inspectd fit takes it")


def pick_device(name):
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda: this torch has no usable CUDA device; use --device cpu or auto")
    return torch.device(name)


def seed_everything(seed):
    random.seed(seed)
    torch.manual_seed(seed)


class Run:
    """One training run: the data, the modules and optimizers to checkpoint, and the bookkeeping."""

    def __init__(self, prog, args, config):
        check_common(args)
        self.prog = prog
        self.args = args
        # Settings that must match for a resume (the cap may be raised).
        self.config = {k: v for k, v in config.items() if k not in ("iterations",)}
        self.device = pick_device(args.device)
        # torch's own default can be 1 thread (OpenMP sees one CPU in some containers): take every core.
        torch.set_num_threads(args.threads or os.cpu_count() or 1)
        self.work = args.work or args.out + ".work"
        seed_everything(args.seed)
        files = data.list_images(args.images)
        self.held_out = []
        if getattr(args, "holdout", 0):
            files, self.held_out = data.split_holdout(files, args.holdout)
            if not self.held_out:
                raise TrainError(f"--holdout {args.holdout} of the {len(files)} images holds out none; raise it")
            self.log(f"{len(self.held_out)} of {len(files) + len(self.held_out)} images held out for fit's threshold")
        self.x, self.files, self.skipped = data.load_images(
            files, args.size, args.limit_images or None, log=self.log
        )
        if self.x.shape[0] < 2:
            raise TrainError(f"--images {args.images}: {self.x.shape[0]} usable image; training needs at least 2")
        self.x = self.x.to(self.device)
        self.gen = torch.Generator().manual_seed(args.seed)
        self.modules = {}
        self.optimizers = {}
        self.iteration = 0
        self.train_seconds = 0.0
        self.resumed_from = None

    def log(self, msg):
        sys.stderr.write(f"{self.prog}: {msg}\n")
        sys.stderr.flush()

    def batch(self):
        n = self.x.shape[0]
        idx = torch.randint(0, n, (min(self.args.batch_size, n),), generator=self.gen)
        return self.x[idx.to(self.device)]

    # ---- checkpoints ------------------------------------------------------------------------------------
    def state_path(self):
        return os.path.join(self.work, STATE_FILE)

    def save(self):
        os.makedirs(self.work, exist_ok=True)
        state = {
            "config": self.config,
            "iteration": self.iteration,
            "train_seconds": self.train_seconds,
            "modules": {k: m.state_dict() for k, m in self.modules.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "rng": {"torch": torch.get_rng_state(), "python": random.getstate(), "batches": self.gen.get_state()},
        }
        if self.device.type == "cuda":
            state["rng"]["cuda"] = torch.cuda.get_rng_state(self.device)
        tmp = self.state_path() + ".tmp"
        torch.save(state, tmp)
        os.replace(tmp, self.state_path())  # a crash mid-write never leaves a broken checkpoint

    def restore_or_start(self):
        """Loads the checkpoint when --resume; refuses to overwrite one silently otherwise. Returns True when
        it resumed (the caller then skips its one-time initialization)."""
        path = self.state_path()
        if not os.path.exists(path):
            if self.args.resume:
                self.log(f"no checkpoint in {self.work}; starting from scratch")
            return False
        if not self.args.resume:
            raise TrainError(
                f"{path} holds a checkpoint of an earlier run; pass --resume to continue it, "
                f"or remove {self.work} (or pass another --work) to start over"
            )
        state = torch.load(path, map_location=self.device)
        if state["config"] != self.config:
            diff = sorted(k for k in set(state["config"]) | set(self.config) if state["config"].get(k) != self.config.get(k))
            raise TrainError(
                f"{path} was written with other settings ({', '.join(diff)}); resume with the same settings "
                f"or start over in another --work"
            )
        for k, m in self.modules.items():
            m.load_state_dict(state["modules"][k])
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        torch.set_rng_state(state["rng"]["torch"])
        random.setstate(state["rng"]["python"])
        self.gen.set_state(state["rng"]["batches"])
        if "cuda" in state["rng"] and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)
        self.iteration = state["iteration"]
        self.train_seconds = state["train_seconds"]
        self.resumed_from = self.iteration
        self.log(f"resumed from {path} at iteration {self.iteration}")
        return True

    # ---- the loop ---------------------------------------------------------------------------------------
    def train(self, step):
        """Calls step(iteration) -> {loss name: float} until the cap; progress on stderr, checkpoints."""
        a = self.args
        for m in self.modules.values():
            m.train()
        t_start = time.monotonic()
        first = self.iteration
        window = {}
        while self.iteration < a.iterations:
            t = time.monotonic()
            losses = step(self.iteration)
            self.iteration += 1
            self.train_seconds += time.monotonic() - t
            for k, v in losses.items():
                if not torch.isfinite(torch.tensor(v)):
                    raise TrainError(
                        f"loss {k} became {v} at iteration {self.iteration}; lower --lr (now {a.lr}) and start over"
                    )
                window.setdefault(k, []).append(v)
            if self.iteration % a.log_every == 0 or self.iteration == a.iterations:
                done = self.iteration - first
                rate = done / max(time.monotonic() - t_start, 1e-9)
                eta = (a.iterations - self.iteration) / max(rate, 1e-9)
                text = " ".join(f"{k}={sum(v) / len(v):.4g}" for k, v in window.items())
                self.log(f"iteration {self.iteration}/{a.iterations} {text} {rate:.2f} it/s eta {eta:.0f}s")
                window = {}
            if self.iteration % a.checkpoint_every == 0 or self.iteration == a.iterations:
                self.save()

    # ---- export -----------------------------------------------------------------------------------------
    def export(self, net, output_names, metadata, opset=13, spatial=False):
        """Writes the ONNX model: input `input` [N,3,S,S] (normalized RGB), the named outputs, N dynamic; with
        `spatial` H and W too (a feature backbone, which inspectd runs at the recipe's size)."""
        import onnx

        net = net.cpu().eval()
        example = self.x[:1].cpu()
        if spatial:
            dyn = {"input": {0: "N", 2: "H", 3: "W"}, **{n: {0: "N", 2: f"H_{n}", 3: f"W_{n}"} for n in output_names}}
        else:
            dyn = {"input": {0: "N"}, **{n: {0: "N"} for n in output_names}}
        os.makedirs(os.path.dirname(os.path.abspath(self.args.out)), exist_ok=True)
        tmp = self.args.out + ".tmp"
        with torch.no_grad(), warnings.catch_warnings():
            # torch 1.13's exporter warns about prim::Constant shape inference on every model; not actionable.
            warnings.simplefilter("ignore", UserWarning)
            torch.onnx.export(
                net, example, tmp, input_names=["input"], output_names=output_names,
                dynamic_axes=dyn, opset_version=opset, do_constant_folding=True,
            )
        m = onnx.load(tmp)
        meta = {
            "inspectd.kind": "autoencoder",
            "inspectd.outputs": ",".join(output_names),
            "inspectd.size": str(self.args.size),
            "inspectd.mean": ",".join(map(str, data.MEAN)),
            "inspectd.std": ",".join(map(str, data.STD)),
            "inspectd.color": "rgb",
            "inspectd.torch_version": torch.__version__,
            "inspectd.train_images": f"{os.path.abspath(self.args.images)} ({len(self.files)} used, {len(self.skipped)} skipped)",
            "inspectd.train_iterations": str(self.iteration),
            "inspectd.train_seconds": f"{self.train_seconds:.1f}",
            "inspectd.train_device": self.device.type,
            "inspectd.train_settings": json.dumps({**self.config, "iterations": self.args.iterations}, sort_keys=True),
            **metadata,
        }
        if self.held_out:
            # fit --holdout checks the images it scores for the threshold are among these.
            meta["inspectd.train_holdout"] = str(self.args.holdout)
            meta["inspectd.train_holdout_images"] = json.dumps([os.path.basename(f) for f in self.held_out])
        for k, v in meta.items():
            e = m.metadata_props.add()
            e.key, e.value = k, v
        onnx.checker.check_model(m)
        onnx.save(m, tmp)
        os.replace(tmp, self.args.out)


def main_guard(prog, fn, argv=None):
    """Input problems exit 2 with one clear line, not a traceback."""
    try:
        fn(argv)
    except TrainError as exc:
        sys.stderr.write(f"{prog}: error: {exc}\n")
        sys.exit(2)
