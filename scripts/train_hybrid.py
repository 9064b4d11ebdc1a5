#!/usr/bin/python3
"""Train the S004 hybrid anomaly model (feature distance + reconstruction) on good images; export ONNX.

phi (MobileNetV2 to stride 16, optionally ImageNet-initialized, + 1x1 conv) maps an image X to Z; psi maps Z
back to an image. Per iteration, one optimizer step on
    w_feat * L1 + L2 (+ w_jac * ||J_psi(C)||_F^2)
where L1 = mean ||Z - C||^2 reaches phi only (the patent's "update phi by L1") and L2 = dist(psi(phi(X)), X)
(mean squared error or 1 - SSIM) reaches phi and psi ("update phi and psi by L2"). C is the moving average of
Z (initialized from the first batches). psi's gradient is regularized either by the Frobenius norm of its
Jacobian at C (--regularizer jacobian) or by spectral normalization of every layer (--regularizer spectral).

--target features (the default) reconstructs the frozen ImageNet backbone's levels instead of the pixels: phi is
MobileNetV2's s8 and s16 levels (3x3-averaged, on the s8 grid, standardized per channel) followed by trainable
1x1 convs to Z; psi maps Z back to those levels. The backbone runs once per image before training, so an
iteration costs only the small convs. --target pixels is the patent's image reconstruction.

Output ONNX: input `input` [N,3,S,S] (ImageNet mean/std normalized RGB). Pixels: outputs `z` [N,latent,S/16,S/16],
`recon` [N,3,S,S] (normalized), `e1..e3` (phi's levels, strides 4/8/16). Features: `z` [N,latent,S/8,S/8],
`recon` and `target` [N,128,S/8,S/8] (F^ and F). `inspectd fit --method hybrid` turns it into a recipe (C,
lambda1, lambda2, threshold).

Usage: /usr/bin/python3 scripts/train_hybrid.py --images DIR --out model.onnx [--backbone-weights mnv2.pth]
"""

import os
import sys
import time

from inspectd_train.environment import require

require("train_hybrid", ["torch", "torchvision", "onnx"])

import torch  # noqa: E402

from inspectd_train import losses
from inspectd_train.data import denormalize
from inspectd_train.errors import TrainError
from inspectd_train.hybrid import (
    STANDARDIZE,
    FeatureHybridExport,
    FeatureHybridNet,
    HybridExport,
    HybridNet,
    load_imagenet,
    load_imagenet_levels,
)
from inspectd_train.loop import Run, common_args, main_guard, recorded_settings, sha256_file

PROG = "train_hybrid"


def parse(argv):
    p = common_args(PROG, __doc__.splitlines()[0], default_size=None, holdout=True)
    p.add_argument("--target", choices=["features", "pixels"], default="features",
                   help="what psi reconstructs: the backbone's levels (default) or the image")
    p.add_argument("--latent", type=int, help="channels of Z (default: 16 for features, 32 for pixels)")
    p.add_argument("--hidden", type=int, default=64, help="features: channels between F and Z, and Z and F^")
    p.add_argument("--standardize", choices=list(STANDARDIZE), default="channel",
                   help="features: F's mean and spread per channel, the mean per position too, or both per position")
    p.add_argument("--backbone-weights", help="torchvision mobilenet_v2 ImageNet state_dict for phi (else random init)")
    p.add_argument("--distance", choices=["l2", "ssim"], default="l2", help="L2: reconstruction distance")
    p.add_argument("--regularizer", choices=["jacobian", "spectral"], default="spectral")
    p.add_argument("--jacobian-weight", type=float, default=1.0, help="weight of ||J_psi(C)||_F^2 / outputs")
    p.add_argument("--feature-weight", type=float, default=1.0, help="weight of L1 (the center distance)")
    p.add_argument("--center-momentum", type=float, default=0.99, help="moving-average momentum of C")
    a = p.parse_args(argv)
    if a.size is None:
        a.size = 224 if a.target == "features" else 128
    if a.latent is None:
        a.latent = 16 if a.target == "features" else 32
    if a.hidden < 1:
        raise TrainError(f"--hidden {a.hidden} must be >= 1")
    if a.size % 16:
        raise TrainError(f"--size {a.size}: phi has stride 16; pass a multiple of 16 (e.g. 128, 224)")
    if a.latent < 1:
        raise TrainError(f"--latent {a.latent} must be >= 1")
    if a.backbone_weights and not os.path.isfile(a.backbone_weights):
        raise TrainError(
            f"--backbone-weights {a.backbone_weights} is not a file; pass torchvision's mobilenet_v2 state_dict .pth"
        )
    if not 0 <= a.center_momentum < 1:
        raise TrainError(f"--center-momentum {a.center_momentum} must be in [0, 1)")
    if a.target == "features" and not a.backbone_weights:
        raise TrainError("--target features reconstructs ImageNet features: pass --backbone-weights "
                         "(torchvision's mobilenet_v2 state_dict .pth), or --target pixels")
    return a


def main(argv=None):
    a = parse(argv)
    t0 = time.monotonic()
    weights_sha = sha256_file(a.backbone_weights) if a.backbone_weights else None
    run = Run(PROG, a, recorded_settings(a, weights_sha))
    if a.target == "features":
        train_on_features(a, run, weights_sha, t0)
        return
    net = HybridNet(a.latent, a.size // 16)
    if a.backbone_weights:
        load_imagenet(net.phi, a.backbone_weights)
    if a.regularizer == "spectral":
        losses.apply_spectral_norm(net.psi)
    net.to(run.device)
    opt = torch.optim.Adam(net.parameters(), lr=a.lr)
    run.modules["net"] = net
    run.optimizers["adam"] = opt
    run.log(f"{run.x.shape[0]} images at {a.size}x{a.size}, device {run.device}, "
            f"phi {'ImageNet' if a.backbone_weights else 'random'} init, regularizer {a.regularizer}")
    run.restore_or_start()

    def step(_it):
        net.train()
        net.phi.freeze_batchnorm()
        x = run.batch()
        z, recon, _ = net(x)
        return optimize(a, net, opt, z, losses.reconstruction_distance(recon, x, a.distance, denormalize))

    run.train(step)
    if a.regularizer == "spectral":
        losses.bake_spectral_norm(net.psi)
    names = ["z", "recon", "e1", "e2", "e3"]
    run.export(HybridExport(net), names, {
        "inspectd.method": "hybrid",
        "inspectd.target": "pixels",
        "inspectd.arch": "s004_mobilenet_v2_s16",
        "inspectd.weights_sha256": weights_sha or f"random:{a.seed}",
        "inspectd.exporter": "scripts/train_hybrid.py",
    })
    print(f"{PROG}: {run.x.shape[0]} images, {run.iteration} iterations ({run.train_seconds:.1f}s training, "
          f"{time.monotonic() - t0:.1f}s total) -> {a.out} outputs={','.join(names)}")


def optimize(a, net, opt, z, l2):
    """One step on w_feat * L1 + L2 (+ the Jacobian penalty), then C's moving average; the losses for progress."""
    if not net.center_ready:
        # Deep SVDD's start: C = mean Z of the initial phi.
        with torch.no_grad():
            net.center.copy_(z.mean(0, keepdim=True))
            net.center_ready.fill_(True)
    l1 = losses.center_distance(z, net.center)
    loss = a.feature_weight * l1 + l2
    out = {"L1": l1.item(), "L2": l2.item()}
    if a.regularizer == "jacobian":
        jac = losses.jacobian_frobenius_sq(net.psi, net.center)
        loss = loss + a.jacobian_weight * jac
        out["jac"] = jac.item()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    with torch.no_grad():
        net.center.mul_(a.center_momentum).add_(z.detach().mean(0, keepdim=True), alpha=1 - a.center_momentum)
    return out


def train_on_features(a, run, weights_sha, t0):
    net = FeatureHybridNet(a.latent, a.hidden, a.size // 8, STANDARDIZE[a.standardize])
    load_imagenet_levels(net.levels, a.backbone_weights)
    if a.regularizer == "spectral":
        losses.apply_spectral_norm(net.psi)
    net.to(run.device)
    images = run.x
    trainable = [p for p in net.parameters() if p.requires_grad]
    opt = torch.optim.Adam(trainable, lr=a.lr)
    run.modules["net"] = net
    run.optimizers["adam"] = opt
    run.log(f"{images.shape[0]} images at {a.size}x{a.size}, device {run.device}, target features "
            f"(F {net.levels.mean.shape[1]}x{a.size // 8}x{a.size // 8}), latent {a.latent}, regularizer {a.regularizer}")
    t = time.monotonic()
    feats = net.levels.fit_statistics(images)
    run.log(f"backbone features of {feats.shape[0]} images in {time.monotonic() - t:.1f}s")
    run.restore_or_start()  # a checkpoint's statistics are those of the same images
    # Batches are drawn from the features: the frozen backbone never runs in the loop.
    run.x = feats

    def step(_it):
        net.train()
        net.levels.eval()
        f = run.batch()
        z, recon = net.reconstruct(f)
        return optimize(a, net, opt, z, torch.nn.functional.mse_loss(recon, f))

    run.train(step)
    if a.regularizer == "spectral":
        losses.bake_spectral_norm(net.psi)
    run.x = images  # the export's example input is an image
    names = ["z", "recon", "target"]
    run.export(FeatureHybridExport(net), names, {
        "inspectd.method": "hybrid",
        "inspectd.target": "features",
        "inspectd.arch": "s004_features_mobilenet_v2_s8_s16",
        "inspectd.weights_sha256": weights_sha,
        "inspectd.exporter": "scripts/train_hybrid.py",
    })
    print(f"{PROG}: {images.shape[0]} images, {run.iteration} iterations ({run.train_seconds:.1f}s training, "
          f"{time.monotonic() - t0:.1f}s total) -> {a.out} outputs={','.join(names)}")


if __name__ == "__main__":
    main_guard(PROG, main)
