#!/usr/bin/python3
"""Train the S002 multi-level feature fusion network on good images with pseudo-anomalies; export ONNX.

MobileNetV2 (ImageNet weights, frozen, or its last --finetune-blocks blocks trained at a tenth of --lr) gives
the s4, s8 and s16 levels; a texture branch (quantization-counting) on the low levels, a self-calibrated
convolution on the deep one and a fusion conv make psi(X) per s8 position, and the score head eta one score per
position (scripts/inspectd_train/fusion.py). Each batch, --anomaly-fraction of the images get a pseudo-anomaly
of one of --kinds with its mask (scripts/inspectd_train/synthetic.py), and one optimizer step is taken on
    L = Lf + Ls + Lfs
Lf the hypersphere loss on A = sqrt(||psi||^2 + 1) - 1 (normal positions pulled in, anomalous pushed out, the
classes weighted equally), Ls the score hinge (normal below --gamma, anomalous above the mean normal score by
--margin), Lfs the consistency of pairwise feature and score distances over normal positions (KL).

The seed trains 200 epochs with SGD at lr 0.001 on a GPU; on a CPU the cap is iterations of Adam.

Output ONNX: input `input` [N,3,S,S] (ImageNet mean/std normalized RGB); outputs `score_map` (eta) and
`feature_map` (A), both [N,1,S/8,S/8]. `inspectd fit --method fusion` turns it into a recipe.

Usage: /usr/bin/python3 scripts/train_fusion.py --images DIR --backbone-weights mnv2.pth --out fusion.onnx
"""

import time

from inspectd_train.environment import require

require("train_fusion", ["torch", "torchvision", "onnx"])

import torch  # noqa: E402

from inspectd_train import losses, synthetic  # noqa: E402
from inspectd_train.data import MEAN, STD, denormalize  # noqa: E402
from inspectd_train.errors import TrainError  # noqa: E402
from inspectd_train.fusion import FusionExport, FusionNet, hypersphere  # noqa: E402
from inspectd_train.hybrid import load_imagenet  # noqa: E402
from inspectd_train.loop import Run, common_args, main_guard, recorded_settings, sha256_file  # noqa: E402

PROG = "train_fusion"
DEFAULT_KINDS = "texture,cutpaste,confetti"


def parse(argv):
    p = common_args(PROG, __doc__.splitlines()[0], default_size=224, holdout=True)
    p.set_defaults(iterations=800, lr=1e-3)
    p.add_argument("--backbone-weights", required=True, help="torchvision mobilenet_v2 ImageNet state_dict (.pth)")
    p.add_argument("--dim", type=int, default=64, help="channels of psi")
    p.add_argument("--finetune-blocks", type=int, default=0, help="train the backbone's last K blocks too (0-14)")
    p.add_argument("--kinds", default=DEFAULT_KINDS, help=f"pseudo-anomaly kinds, of {','.join(synthetic.KINDS)}")
    p.add_argument("--anomaly-fraction", type=float, default=0.5, help="fraction of each batch given a defect")
    p.add_argument("--gamma", type=float, default=2.5, help="normal scores are held below this")
    p.add_argument("--margin", type=float, default=5.0, help="anomalous scores exceed the mean normal by this")
    p.add_argument("--consistency-samples", type=int, default=256, help="normal positions in the consistency loss")
    a = p.parse_args(argv)
    if a.size % 16:
        raise TrainError(f"--size {a.size}: the backbone has stride 16; pass a multiple of 16 (e.g. 224)")
    a.kinds = synthetic.parse_kinds(a.kinds)
    if not 0 < a.anomaly_fraction < 1:
        raise TrainError(f"--anomaly-fraction {a.anomaly_fraction} must be between 0 and 1 (exclusive)")
    if not 0 <= a.finetune_blocks <= 14:
        raise TrainError(f"--finetune-blocks {a.finetune_blocks} must be from 0 to 14")
    if a.dim < 1 or a.consistency_samples < 2:
        raise TrainError("--dim must be >= 1 and --consistency-samples >= 2")
    return a


def position_labels(masks, grid):
    """Pixel masks [B,1,H,W] -> (normal, anomalous) [B,1,h,w] on the score grid. A cell counts as anomalous
    when the defect covers at least a third of it, normal when it covers none; the cells between are left out
    of the losses (their label is neither)."""
    cover = torch.nn.functional.adaptive_avg_pool2d(masks, grid)
    return (cover == 0).float(), (cover >= 1 / 3).float()


def main(argv=None):
    a = parse(argv)
    t0 = time.monotonic()
    weights_sha = sha256_file(a.backbone_weights)
    run = Run(PROG, a, recorded_settings(a, weights_sha))
    net = FusionNet(a.dim)
    load_imagenet(net.backbone, a.backbone_weights)
    tail = net.backbone.trainable_tail(a.finetune_blocks)
    net.to(run.device)
    groups = [{"params": net.head.parameters(), "lr": a.lr}]
    if tail:
        groups.append({"params": tail, "lr": a.lr / 10})
    opt = torch.optim.Adam(groups)
    run.modules["net"] = net
    run.optimizers["adam"] = opt
    run.log(f"{run.x.shape[0]} images at {a.size}x{a.size}, device {run.device}, kinds {','.join(a.kinds)}, "
            f"backbone {'frozen' if not tail else f'last {a.finetune_blocks} blocks trained'}")
    run.restore_or_start()
    mean = torch.tensor(MEAN, device=run.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=run.device).view(1, 3, 1, 1)
    defects = torch.Generator().manual_seed(a.seed + 1)

    def step(_it):
        net.train()
        net.backbone.eval()  # ImageNet's batch-norm statistics stay (small batches would wreck them)
        x01 = denormalize(run.batch()).clamp(0, 1).cpu()
        bad, masks = synthetic.pseudo_batch(x01, a.kinds, a.anomaly_fraction, defects)
        x = ((bad.to(run.device) - mean) / std)
        with torch.set_grad_enabled(bool(tail)):
            s4, s8, s16 = net.backbone(x)
        psi, s = net.head(s4, s8, s16)
        normal, anomalous = (t.to(run.device) for t in position_labels(masks, s.shape[-2:]))
        lf = losses.hypersphere_loss(hypersphere(psi), normal, anomalous)
        ls = losses.score_hinge_loss(s, normal, anomalous, a.gamma, a.margin)
        lfs = losses.consistency_loss(psi, s, normal, a.consistency_samples, defects)
        loss = lf + ls + lfs
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"Lf": lf.item(), "Ls": ls.item(), "Lfs": lfs.item()}

    run.train(step)
    names = ["score_map", "feature_map"]
    run.export(FusionExport(net), names, {
        "inspectd.kind": "trained",
        "inspectd.method": "fusion",
        "inspectd.arch": "s002_mobilenet_v2_s4_s8_s16",
        "inspectd.weights_sha256": weights_sha,
        "inspectd.exporter": "scripts/train_fusion.py",
    })
    print(f"{PROG}: {run.x.shape[0]} images, {run.iteration} iterations ({run.train_seconds:.1f}s training, "
          f"{time.monotonic() - t0:.1f}s total) -> {a.out} outputs={','.join(names)}")


if __name__ == "__main__":
    main_guard(PROG, main)
