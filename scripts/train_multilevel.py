#!/usr/bin/python3
"""Train the S000 multi-level adversarial autoencoder on good images; export ONNX.

Encoder ConvDown64 -> 128 -> 256 -> 512 (3x3, stride 2, ReLU); low-level embedding FC128 of the stride-4 map and
high-level FC256 of the stride-16 map (both pooled to 4x4); decoder FC1024 + FC2048 -> 4x4 grid -> ConvUp blocks
(3x3 transposed conv, stride 2, ReLU) to the image. Two discriminators tell each embedding from N(0, I)
samples; the encoder learns to fool them, so the decoder maps a compact prior space to normal images.
Per iteration: one step of both discriminators, then one autoencoder step on
    ||X - X^||^2 + w_adv * (fool D_low + fool D_high).
Training runs to the iteration cap (S000), then exports.

--target features encodes and reconstructs the frozen ImageNet MobileNetV2's levels F instead of the pixels (the
s8 and s16 levels, 3x3-averaged, on the s8 grid, standardized; as train_hybrid.py's): ConvDown64 -> 128 -> 256
on F, the low embedding from the first level, the high from the last, the decoder (ConvUp as nearest x2 + 3x3
conv) back to F. The backbone runs once per image before training.

Output ONNX: input `input` [N,3,S,S] (ImageNet mean/std normalized RGB); outputs `z` [N,384] (low ++ high),
`recon` [N,3,S,S] (normalized), `e1..e4` (the encoder levels, strides 2/4/8/16); with --target features `recon`
and `target` [N,128,S/8,S/8] (F^ and F) and `e1..e3` (strides 16/32/64). `inspectd fit --method multilevel`
encodes the reconstruction again inside the recipe graph for the feature term.

Usage: /usr/bin/python3 scripts/train_multilevel.py --images DIR --out model.onnx
       /usr/bin/python3 scripts/train_multilevel.py --target features --backbone-weights mnv2.pth --images DIR ...
"""

import sys
import time

from inspectd_train.environment import require

require("train_multilevel", ["torch", "torchvision", "onnx"])

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from inspectd_train import losses
from inspectd_train.errors import TrainError
from inspectd_train.hybrid import STANDARDIZE, FeatureLevels, load_imagenet_levels
from inspectd_train.loop import Run, common_args, main_guard, recorded_settings, sha256_file
from inspectd_train.multilevel import (
    HIGH_DIM,
    LOW_DIM,
    FeatureMultiLevel,
    FeatureMultiLevelExport,
    MultiLevelAE,
    MultiLevelExport,
    check_size,
    discriminator,
)

PROG = "train_multilevel"


def parse(argv):
    p = common_args(PROG, __doc__.splitlines()[0], default_size=None, holdout=True)
    p.add_argument("--target", choices=["pixels", "features"], default="pixels",
                   help="what the autoencoder reconstructs: the image, or the backbone's levels")
    p.add_argument("--backbone-weights", help="features: torchvision mobilenet_v2 ImageNet state_dict (.pth)")
    p.add_argument("--standardize", choices=list(STANDARDIZE), default="channel",
                   help="features: F's mean and spread per channel, the mean per position too, or both per position")
    p.add_argument("--adv-weight", type=float, default=0.01, help="weight of the encoder's adversarial loss")
    p.add_argument("--disc-lr", type=float, default=2e-4, help="discriminators' learning rate")
    a = p.parse_args(argv)
    features = a.target == "features"
    if a.size is None:
        a.size = 256 if features else 128
    check_size(a.size, features)
    if features and not a.backbone_weights:
        raise TrainError("--target features encodes ImageNet features: pass --backbone-weights "
                         "(torchvision's mobilenet_v2 state_dict .pth), or --target pixels")
    if a.backbone_weights and not features:
        raise TrainError("--backbone-weights is for --target features; the pixel autoencoder starts from random weights")
    if a.adv_weight < 0:
        raise TrainError(f"--adv-weight {a.adv_weight} must be >= 0")
    return a


def main(argv=None):
    a = parse(argv)
    t0 = time.monotonic()
    weights_sha = sha256_file(a.backbone_weights) if a.backbone_weights else None
    run = Run(PROG, a, recorded_settings(a, weights_sha))
    if a.target == "features":
        net = FeatureMultiLevel(a.size, FeatureLevels((a.size // 8,) * 2, STANDARDIZE[a.standardize]))
        load_imagenet_levels(net.levels, a.backbone_weights)
        net.to(run.device)
        ae, images = net.ae, run.x
    else:
        ae = MultiLevelAE(a.size).to(run.device)
    d_low, d_high = discriminator(LOW_DIM).to(run.device), discriminator(HIGH_DIM).to(run.device)
    opt_ae = torch.optim.Adam(ae.parameters(), lr=a.lr)
    opt_d = torch.optim.Adam(list(d_low.parameters()) + list(d_high.parameters()), lr=a.disc_lr, betas=(0.5, 0.999))
    run.modules.update(ae=ae, d_low=d_low, d_high=d_high)
    run.optimizers.update(ae=opt_ae, d=opt_d)
    run.log(f"{run.x.shape[0]} images at {a.size}x{a.size}, device {run.device}, target {a.target}")
    if a.target == "features":
        run.modules["levels"] = net.levels
        t = time.monotonic()
        feats = net.levels.fit_statistics(images)
        run.log(f"backbone features of {feats.shape[0]} images in {time.monotonic() - t:.1f}s")
        # Batches are drawn from the features: the frozen backbone never runs in the loop.
        run.x = feats
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
    meta = {"inspectd.method": "multilevel", "inspectd.target": a.target, "inspectd.exporter": "scripts/train_multilevel.py"}
    if a.target == "features":
        run.x = images  # the export's example input is an image
        names = ["z", "recon", "target", "e1", "e2", "e3"]
        run.export(FeatureMultiLevelExport(net), names, {
            **meta,
            "inspectd.arch": "s000_features_mobilenet_v2_s8_s16_convdown64-256",
            "inspectd.weights_sha256": weights_sha,
        })
    else:
        names = ["z", "recon", "e1", "e2", "e3", "e4"]
        run.export(MultiLevelExport(ae), names, {
            **meta,
            "inspectd.arch": "s000_convdown64-512",
            "inspectd.weights_sha256": f"trained:seed{a.seed}",
        })
    print(f"{PROG}: {run.x.shape[0]} images, {run.iteration} iterations ({run.train_seconds:.1f}s training, "
          f"{time.monotonic() - t0:.1f}s total) -> {a.out} outputs={','.join(names)}")


if __name__ == "__main__":
    main_guard(PROG, main)
