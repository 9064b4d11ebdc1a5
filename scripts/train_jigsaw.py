#!/usr/bin/python3
"""Fine-tune MobileNetV2 on a jigsaw task over good images, with MFCSAM fusion (S003); export a feature backbone.

Each batch, every image's 3x3 tiles are shuffled by one of --permutations permutations (the identity among
them) and the network learns which one, by cross-entropy: it must know what belongs where on the part, the
shape information the seed wants ImageNet features to gain. Half of the images first get a pseudo-anomaly
(--kinds, default the seed's Perlin-noise blob filled with foreign texture), as the seed trains on its
synthetic-defect set. The backbone's weights train at --backbone-lr (its batch-norm statistics stay ImageNet's);
the MFCSAM modules and the head at --lr. Adam, as the seed. The seed fine-tunes the whole backbone; by default
only its stride-16 stage trains here (--finetune-blocks 7), which halves a CPU step.

Output ONNX, a feature backbone for `inspectd fit --method gaussian --backbone OUT --layers mfcsam_152ch`:
input `input` [N,3,H,W] (ImageNet mean/std normalized RGB, any H, W); outputs s4_24ch, s8_32ch, s16_96ch (the
fine-tuned levels) and mfcsam_152ch (the fused Y, stride 8). With --holdout F the images fit will hold out
are left out here too, and fit checks that.

Usage: /usr/bin/python3 scripts/train_jigsaw.py --images DIR --backbone-weights mnv2.pth --out jigsaw.onnx
"""

import time

from inspectd_train.environment import require

require("train_jigsaw", ["torch", "torchvision", "onnx"])

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from inspectd_train import synthetic  # noqa: E402
from inspectd_train.data import MEAN, STD, denormalize  # noqa: E402
from inspectd_train.errors import TrainError  # noqa: E402
from inspectd_train.hybrid import load_imagenet  # noqa: E402
from inspectd_train.jigsaw import FUSED, JigsawExport, JigsawNet, permutations, shuffle_tiles  # noqa: E402
from inspectd_train.loop import Run, common_args, main_guard, recorded_settings, sha256_file  # noqa: E402

PROG = "train_jigsaw"
GRID = 3


def parse(argv):
    p = common_args(PROG, __doc__.splitlines()[0], default_size=224, holdout=True)
    p.set_defaults(iterations=300, lr=1e-3)
    p.add_argument("--backbone-weights", required=True, help="torchvision mobilenet_v2 ImageNet state_dict (.pth)")
    p.add_argument("--backbone-lr", type=float, default=1e-4, help="learning rate of the backbone's trained blocks")
    p.add_argument("--finetune-blocks", type=int, default=7,
                   help="train the backbone's last K of 14 blocks (7: the stride-16 stage; 14: all, as the seed)")
    p.add_argument("--permutations", type=int, default=24, help="jigsaw classes (the identity is one)")
    p.add_argument("--kinds", default="texture", help=f"pseudo-anomaly kinds, of {','.join(synthetic.KINDS)}")
    p.add_argument("--anomaly-fraction", type=float, default=0.5, help="fraction of each batch given a defect")
    a = p.parse_args(argv)
    if a.size % 48:
        raise TrainError(f"--size {a.size}: the 3x3 tiles must each be a multiple of the stride 16; pass a multiple "
                         f"of 48 (e.g. 240)")
    a.kinds = synthetic.parse_kinds(a.kinds)
    if not 2 <= a.permutations <= 1000:
        raise TrainError(f"--permutations {a.permutations} must be from 2 to 1000")
    if not 0 <= a.anomaly_fraction < 1:
        raise TrainError(f"--anomaly-fraction {a.anomaly_fraction} must be from 0 to below 1")
    if not 0 <= a.finetune_blocks <= 14:
        raise TrainError(f"--finetune-blocks {a.finetune_blocks} must be from 0 to 14")
    if not a.backbone_lr >= 0:
        raise TrainError(f"--backbone-lr {a.backbone_lr} must be >= 0")
    return a


def main(argv=None):
    a = parse(argv)
    t0 = time.monotonic()
    weights_sha = sha256_file(a.backbone_weights)
    run = Run(PROG, a, recorded_settings(a, weights_sha))
    net = JigsawNet(a.permutations, GRID)
    load_imagenet(net.features.backbone, a.backbone_weights)
    net.to(run.device)
    tail = net.features.backbone.trainable_tail(a.finetune_blocks)
    ids = {id(p) for p in net.features.backbone.parameters()}
    rest = [p for p in net.parameters() if id(p) not in ids]
    groups = [{"params": rest, "lr": a.lr}] + ([{"params": tail, "lr": a.backbone_lr}] if tail else [])
    opt = torch.optim.Adam(groups)
    run.modules["net"] = net
    run.optimizers["adam"] = opt
    perms = permutations(a.permutations, GRID, a.seed)
    run.log(f"{run.x.shape[0]} images at {a.size}x{a.size}, device {run.device}, {len(perms)} permutations, "
            f"kinds {','.join(a.kinds)}")
    run.restore_or_start()
    mean = torch.tensor(MEAN).view(1, 3, 1, 1)
    std = torch.tensor(STD).view(1, 3, 1, 1)
    gen = torch.Generator().manual_seed(a.seed + 1)

    def step(_it):
        net.train()
        net.features.backbone.eval()  # ImageNet's batch-norm statistics stay
        x01 = denormalize(run.batch()).clamp(0, 1).cpu()
        x01, _ = synthetic.pseudo_batch(x01, a.kinds, a.anomaly_fraction, gen)
        labels = torch.randint(0, len(perms), (x01.shape[0],), generator=gen)
        shuffled = torch.stack([shuffle_tiles(img, perms[k], GRID) for img, k in zip(x01, labels.tolist())])
        logits = net(((shuffled - mean) / std).to(run.device))
        loss = F.cross_entropy(logits, labels.to(run.device))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        accuracy = (logits.argmax(1).cpu() == labels).float().mean().item()
        return {"CE": loss.item(), "acc": accuracy}

    run.train(step)
    fused = FUSED.format(net.features.channels)
    names = ["s4_24ch", "s8_32ch", "s16_96ch", fused]
    run.export(JigsawExport(net.features), names, {
        "inspectd.kind": "backbone",
        "inspectd.method": "jigsaw",
        "inspectd.arch": "s003_mobilenet_v2_jigsaw_mfcsam",
        "inspectd.strides": "4,8,16,8",
        "inspectd.weights_sha256": weights_sha,
        "inspectd.exporter": "scripts/train_jigsaw.py",
    }, spatial=True)
    print(f"{PROG}: {run.x.shape[0]} images, {run.iteration} iterations ({run.train_seconds:.1f}s training, "
          f"{time.monotonic() - t0:.1f}s total) -> {a.out} outputs={','.join(names)}")


if __name__ == "__main__":
    main_guard(PROG, main)
