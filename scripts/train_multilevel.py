#!/usr/bin/python3
"""Train the S000 multi-level adversarial autoencoder on good images; export ONNX.

Encoder ConvDown64 -> 128 -> 256 -> 512 (3x3, stride 2, ReLU); low-level embedding FC128 of the stride-4 map and
high-level FC256 of the stride-16 map (both pooled to 4x4); decoder FC1024 + FC2048 -> 4x4 grid -> ConvUp blocks
(3x3 transposed conv, stride 2, ReLU) to the image. Two discriminators tell each embedding from N(0, I)
samples; the encoder learns to fool them, so the decoder maps a compact prior space to normal images.
Per iteration: one step of both discriminators, then one autoencoder step on
    ||X - X^||^2 + w_adv * (fool D_low + fool D_high).
Training runs to the iteration cap (S000), then exports.

Output ONNX: input `input` [N,3,S,S] (ImageNet mean/std normalized RGB); outputs `z` [N,384] (low ++ high),
`recon` [N,3,S,S] (normalized), `e1..e4` (the encoder levels, strides 2/4/8/16). `inspectd fit --method
multilevel` encodes the reconstruction again inside the recipe graph for the feature term.

Usage: /usr/bin/python3 scripts/train_multilevel.py --images DIR --out model.onnx
"""

import sys
import time

from inspectd_train.environment import require

require("train_multilevel", ["torch", "onnx"])

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from inspectd_train import losses
from inspectd_train.errors import TrainError
from inspectd_train.loop import Run, common_args, main_guard
from inspectd_train.multilevel import HIGH_DIM, LOW_DIM, MultiLevelAE, MultiLevelExport, check_size, discriminator

PROG = "train_multilevel"


def parse(argv):
    p = common_args(PROG, __doc__.splitlines()[0], default_size=128)
    p.add_argument("--adv-weight", type=float, default=0.01, help="weight of the encoder's adversarial loss")
    p.add_argument("--disc-lr", type=float, default=2e-4, help="discriminators' learning rate")
    a = p.parse_args(argv)
    check_size(a.size)
    if a.adv_weight < 0:
        raise TrainError(f"--adv-weight {a.adv_weight} must be >= 0")
    return a


def main(argv=None):
    a = parse(argv)
    t0 = time.monotonic()
    settings = {k: v for k, v in vars(a).items() if k not in ("out", "work", "resume", "log_every", "checkpoint_every",
                                                              "device", "threads")}
    run = Run(PROG, a, settings)
    ae = MultiLevelAE(a.size).to(run.device)
    d_low, d_high = discriminator(LOW_DIM).to(run.device), discriminator(HIGH_DIM).to(run.device)
    opt_ae = torch.optim.Adam(ae.parameters(), lr=a.lr)
    opt_d = torch.optim.Adam(list(d_low.parameters()) + list(d_high.parameters()), lr=a.disc_lr, betas=(0.5, 0.999))
    run.modules.update(ae=ae, d_low=d_low, d_high=d_high)
    run.optimizers.update(ae=opt_ae, d=opt_d)
    run.log(f"{run.x.shape[0]} images at {a.size}x{a.size}, device {run.device}")
    run.restore_or_start()

    def step(_it):
        x = run.batch()
        low, high, recon, _ = ae(x)
        # Discriminators: prior samples are real, embeddings fake.
        d_loss = losses.discriminator_loss(d_low, torch.randn_like(low), low) + losses.discriminator_loss(
            d_high, torch.randn_like(high), high
        )
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        # Autoencoder: reconstruct, and make both embeddings look like prior samples.
        rec = F.mse_loss(recon, x)
        adv = losses.generator_loss(d_low, low) + losses.generator_loss(d_high, high)
        opt_ae.zero_grad(set_to_none=True)
        (rec + a.adv_weight * adv).backward()
        opt_ae.step()
        return {"rec": rec.item(), "adv": adv.item(), "disc": d_loss.item()}

    run.train(step)
    names = ["z", "recon", "e1", "e2", "e3", "e4"]
    run.export(MultiLevelExport(ae), names, {
        "inspectd.method": "multilevel",
        "inspectd.arch": "s000_convdown64-512",
        "inspectd.weights_sha256": f"trained:seed{a.seed}",
        "inspectd.exporter": "scripts/train_multilevel.py",
    })
    print(f"{PROG}: {run.x.shape[0]} images, {run.iteration} iterations ({run.train_seconds:.1f}s training, "
          f"{time.monotonic() - t0:.1f}s total) -> {a.out} outputs={','.join(names)}")


if __name__ == "__main__":
    main_guard(PROG, main)
