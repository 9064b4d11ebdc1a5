#!/usr/bin/python3
"""Train the S004 hybrid anomaly model (feature distance + reconstruction) on good images; export ONNX.

phi (MobileNetV2 to stride 16, optionally ImageNet-initialized, + 1x1 conv) maps an image X to Z; psi maps Z
back to an image. Per iteration, one optimizer step on
    w_feat * L1 + L2 (+ w_jac * ||J_psi(C)||_F^2)
where L1 = mean ||Z - C||^2 reaches phi only (the patent's "update phi by L1") and L2 = dist(psi(phi(X)), X)
(mean squared error or 1 - SSIM) reaches phi and psi ("update phi and psi by L2"). C is the moving average of
Z (initialized from the first batches). psi's gradient is regularized either by the Frobenius norm of its
Jacobian at C (--regularizer jacobian) or by spectral normalization of every layer (--regularizer spectral).

Output ONNX: input `input` [N,3,S,S] (ImageNet mean/std normalized RGB); outputs `z` [N,latent,S/16,S/16],
`recon` [N,3,S,S] (normalized), `e1..e3` (phi's levels, strides 4/8/16). `inspectd fit --method hybrid` turns
it into a recipe (C, lambda1, lambda2, threshold).

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
from inspectd_train.hybrid import HybridExport, HybridNet, load_imagenet
from inspectd_train.loop import Run, common_args, main_guard, recorded_settings, sha256_file

PROG = "train_hybrid"


def parse(argv):
    p = common_args(PROG, __doc__.splitlines()[0], default_size=128)
    p.add_argument("--latent", type=int, default=32, help="channels of Z")
    p.add_argument("--backbone-weights", help="torchvision mobilenet_v2 ImageNet state_dict for phi (else random init)")
    p.add_argument("--distance", choices=["l2", "ssim"], default="l2", help="L2: reconstruction distance")
    p.add_argument("--regularizer", choices=["jacobian", "spectral"], default="spectral")
    p.add_argument("--jacobian-weight", type=float, default=1.0, help="weight of ||J_psi(C)||_F^2 / outputs")
    p.add_argument("--feature-weight", type=float, default=1.0, help="weight of L1 (the center distance)")
    p.add_argument("--center-momentum", type=float, default=0.99, help="moving-average momentum of C")
    a = p.parse_args(argv)
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
    return a


def main(argv=None):
    a = parse(argv)
    t0 = time.monotonic()
    weights_sha = sha256_file(a.backbone_weights) if a.backbone_weights else None
    run = Run(PROG, a, recorded_settings(a, weights_sha))
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
        if not net.center_ready:
            # Deep SVDD's start: C = mean Z of the initial phi.
            with torch.no_grad():
                net.center.copy_(z.mean(0, keepdim=True))
                net.center_ready.fill_(True)
        l1 = losses.center_distance(z, net.center)
        l2 = losses.reconstruction_distance(recon, x, a.distance, denormalize)
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

    run.train(step)
    if a.regularizer == "spectral":
        losses.bake_spectral_norm(net.psi)
    names = ["z", "recon", "e1", "e2", "e3"]
    run.export(HybridExport(net), names, {
        "inspectd.method": "hybrid",
        "inspectd.arch": "s004_mobilenet_v2_s16",
        "inspectd.weights_sha256": weights_sha or f"random:{a.seed}",
        "inspectd.exporter": "scripts/train_hybrid.py",
    })
    print(f"{PROG}: {run.x.shape[0]} images, {run.iteration} iterations ({run.train_seconds:.1f}s training, "
          f"{time.monotonic() - t0:.1f}s total) -> {a.out} outputs={','.join(names)}")


if __name__ == "__main__":
    main_guard(PROG, main)
