#!/usr/bin/python3
"""Export a torchvision backbone as a multi-level feature ONNX model for inspectd.

The model takes `input` [N,3,H,W] float32 (RGB, ImageNet mean/std normalized) and
returns one feature map per requested level, named s{stride}_{channels}ch.

Examples:
  scripts/export_backbone.py --arch mobilenet_v2 \
      --weights ../shared/models/mobilenet_v2_imagenet.pth --out models/mnv2.onnx
  scripts/export_backbone.py --arch resnet18 --random-weights 0 --out /tmp/r18.onnx \
      --dump-reference /tmp/r18.json
"""

import argparse
import json
import os
import sys
import time

from inspectd_train.environment import sha256_file

# The python3 first on PATH may lack torch: say which interpreter to use instead.
try:
    import torch
    import torchvision
    import onnx
except ImportError as exc:  # pragma: no cover - environment problem
    sys.stderr.write(
        f"export_backbone: error: cannot import {exc.name!r} with {sys.executable}. "
        "Run with /usr/bin/python3 (Debian's torch/torchvision/onnx) or set INSPECTD_PYTHON.\n"
    )
    sys.exit(2)

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
REFERENCE_SHAPE = (2, 3, 96, 128)
EXPORT_SHAPE = (1, 3, 224, 224)

# Per arch: (stride, channels, tap) for each level, shallow to deep. For mobilenet_v2
# a tap is an index into `features`; for ResNets it is the residual stage name.
ARCHS = {
    # s16_64ch (the last 64-channel block) feeds the nearest-patch recipe docs/recipes.md recommends for textures.
    "mobilenet_v2": [(4, 24, 3), (8, 32, 6), (16, 64, 10), (16, 96, 13), (32, 320, 17)],
    "resnet18": [(4, 64, "layer1"), (8, 128, "layer2"), (16, 256, "layer3"), (32, 512, "layer4")],
    "wide_resnet50_2": [
        (4, 256, "layer1"),
        (8, 512, "layer2"),
        (16, 1024, "layer3"),
        (32, 2048, "layer4"),
    ],
}
RESNET_STAGES = ["layer1", "layer2", "layer3", "layer4"]
# Classifier heads are never exported, so a fine-tuned head (other class count) or none is fine.
HEADS = {"mobilenet_v2": "classifier.", "resnet18": "fc.", "wide_resnet50_2": "fc."}


class ExportError(Exception):
    """A user-facing problem: printed without traceback, exit code 2."""


def level_name(stride, channels):
    return f"s{stride}_{channels}ch"


class MobileNetV2Levels(torch.nn.Module):
    def __init__(self, net, taps):
        super().__init__()
        # Drop blocks past the deepest tap so they are neither computed nor exported.
        self.features = net.features[: max(taps) + 1]
        self.taps = list(taps)

    def forward(self, x):
        outs = []
        for i, block in enumerate(self.features):
            x = block(x)
            if i in self.taps:
                outs.append(x)
        return tuple(outs)


class ResNetLevels(torch.nn.Module):
    def __init__(self, net, taps):
        super().__init__()
        self.stem = torch.nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        deepest = max(RESNET_STAGES.index(t) for t in taps)
        self.stages = torch.nn.ModuleList(getattr(net, s) for s in RESNET_STAGES[: deepest + 1])
        self.tap_idx = [RESNET_STAGES.index(t) for t in taps]

    def forward(self, x):
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.tap_idx:
                outs.append(x)
        return tuple(outs)


def parse_levels(arch, spec):
    """Return the selected (stride, channels, tap) entries in depth order."""
    table = ARCHS[arch]
    if spec is None:
        return list(table)
    by_name = {level_name(s, c): (s, c, t) for s, c, t in table}
    wanted = [w.strip() for w in spec.replace(" ", ",").split(",") if w.strip()]
    if not wanted:
        raise ExportError("--levels is empty; give comma-separated names, e.g. " + ",".join(by_name))
    unknown = [w for w in wanted if w not in by_name]
    if unknown:
        raise ExportError(
            f"unknown level(s) {', '.join(unknown)} for --arch {arch}; "
            f"valid names are {', '.join(by_name)}"
        )
    # Depth order regardless of the order given: consumers index outputs by stride.
    return [entry for entry in table if level_name(entry[0], entry[1]) in wanted]


def load_state_dict(path):
    if not os.path.isfile(path):
        raise ExportError(
            f"weights file not found (or not a file): {path}; pass an existing state_dict .pth to --weights"
        )
    try:
        # weights_only: a state_dict is plain tensors; refuse arbitrary pickled code.
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises assorted pickle/zip errors here
        raise ExportError(
            f"cannot read weights file {path} as a torch state_dict ({type(exc).__name__}: "
            f"{str(exc).splitlines()[0] if str(exc) else ''}); save it with torch.save(model.state_dict(), path)"
        ) from None
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise ExportError(
            f"weights file {path} is not a state_dict (a dict of tensors, got {type(sd).__name__}); "
            "save it with torch.save(model.state_dict(), path)"
        )
    return sd


def backbone_only(arch, sd):
    return {k: v for k, v in sd.items() if not k.startswith(HEADS[arch])}


def check_state_dict(arch, path, sd, model):
    """Compare keys and shapes ourselves so the message lists what is wrong, briefly."""
    expected = backbone_only(arch, model.state_dict())
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    mismatched = [
        f"{k} {tuple(sd[k].shape)} vs {tuple(v.shape)}"
        for k, v in expected.items()
        if k in sd and tuple(sd[k].shape) != tuple(v.shape)
    ]
    if not (missing or unexpected or mismatched):
        return

    def few(items):
        shown = ", ".join(items[:4])
        return shown + (f", ... ({len(items)} total)" if len(items) > 4 else "")

    parts = []
    if missing:
        parts.append(f"missing keys: {few(missing)}")
    if unexpected:
        parts.append(f"unexpected keys: {few(unexpected)}")
    if mismatched:
        parts.append(f"shape mismatches (file vs {arch}): {few(mismatched)}")
    raise ExportError(
        f"weights file {path} does not match --arch {arch}: " + "; ".join(parts)
        + f". Use weights saved from torchvision.models.{arch}, or pick the --arch they belong to."
    )


def randomize(model, seed):
    """Fixed-seed init. BN stats/affine are randomized too: the default (identity in eval)
    would hide errors in how the exporter folds batch norm into convs."""
    torch.manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.Conv2d):
            # Variance-preserving forward scale keeps deep random nets away from inf/0.
            torch.nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                torch.nn.init.normal_(m.bias, std=0.05)
        elif isinstance(m, torch.nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n) * 0.1)
            m.running_var.copy_(torch.rand(n) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(n) * 0.5 + 0.5)
            m.bias.data.copy_(torch.randn(n) * 0.1)


def build(args, levels):
    ctor = getattr(torchvision.models, args.arch)
    with torch.no_grad():
        net = ctor(weights=None)
        if args.weights is not None:
            sd = load_state_dict(args.weights)
            sd = backbone_only(args.arch, sd)
            check_state_dict(args.arch, args.weights, sd, net)
            # Non-strict only for the head; check_state_dict already vetted everything else.
            net.load_state_dict(sd, strict=False)
            provenance = sha256_file(args.weights)
        else:
            randomize(net, args.random_weights)
            provenance = f"random:{args.random_weights}"
    taps = [t for _, _, t in levels]
    wrapper = MobileNetV2Levels(net, taps) if args.arch == "mobilenet_v2" else ResNetLevels(net, taps)
    return wrapper.eval(), provenance


def to_json_tensor(t):
    # '%.9g' round-trips float32 exactly while keeping the JSON far smaller than repr(double).
    flat = t.detach().contiguous().view(-1).tolist()
    return {"dims": list(t.shape), "data": [float("%.9g" % v) for v in flat]}


def main(argv=None):
    p = argparse.ArgumentParser(
        description="Export a torchvision backbone as a multi-level feature ONNX model for inspectd."
    )
    p.add_argument("--arch", required=True, choices=sorted(ARCHS))
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--weights", metavar="FILE", help="torchvision state_dict (.pth) for --arch")
    src.add_argument(
        "--random-weights", metavar="SEED", type=int, help="fixed-seed random init instead (for tests)"
    )
    p.add_argument("--out", required=True, metavar="FILE.onnx")
    p.add_argument("--opset", type=int, default=13)
    p.add_argument(
        "--levels",
        metavar="NAMES",
        help="comma-separated subset of level names (e.g. s4_24ch,s8_32ch); default all four",
    )
    p.add_argument(
        "--dump-reference",
        metavar="FILE",
        help=f"write torch outputs for a seeded randn input {list(REFERENCE_SHAPE)} as JSON",
    )
    args = p.parse_args(argv)

    t0 = time.monotonic()
    try:
        levels = parse_levels(args.arch, args.levels)
        names = [level_name(s, c) for s, c, _ in levels]
        model, provenance = build(args, levels)

        with torch.no_grad():
            # Cheap sanity check that the level table still matches torchvision's nets.
            probe = model(torch.zeros(1, 3, 64, 64))
            for name, (stride, ch, _), y in zip(names, levels, probe):
                if y.shape[1] != ch or 64 // y.shape[2] != stride:
                    raise RuntimeError(f"{name}: model gives {tuple(y.shape)} for a 64x64 input")

        out_dir = os.path.dirname(os.path.abspath(args.out))
        os.makedirs(out_dir, exist_ok=True)
        dynamic = {"input": {0: "N", 2: "H", 3: "W"}}
        for name, (stride, _, _) in zip(names, levels):
            # Distinct symbols per level: each has its own spatial size.
            dynamic[name] = {0: "N", 2: f"H_s{stride}", 3: f"W_s{stride}"}
        with torch.no_grad():
            torch.onnx.export(
                model,
                torch.randn(*EXPORT_SHAPE),
                args.out,
                input_names=["input"],
                output_names=names,
                dynamic_axes=dynamic,
                opset_version=args.opset,
                do_constant_folding=True,
            )

        m = onnx.load(args.out)
        meta = {
            "inspectd.kind": "backbone",
            "inspectd.arch": args.arch,
            "inspectd.outputs": ",".join(names),
            "inspectd.strides": ",".join(str(s) for s, _, _ in levels),
            "inspectd.mean": ",".join(str(v) for v in MEAN),
            "inspectd.std": ",".join(str(v) for v in STD),
            "inspectd.color": "rgb",
            "inspectd.weights_sha256": provenance,
            "inspectd.exporter": "scripts/export_backbone.py",
            "inspectd.torch_version": torch.__version__,
            "inspectd.torchvision_version": torchvision.__version__,
        }
        del m.metadata_props[:]
        for k, v in meta.items():
            m.metadata_props.add(key=k, value=v)
        onnx.checker.check_model(m)
        onnx.save(m, args.out)

        if args.dump_reference:
            torch.manual_seed(0)
            x = torch.randn(*REFERENCE_SHAPE)
            with torch.no_grad():
                ys = model(x)
            ref = {
                "input": to_json_tensor(x),
                "outputs": {name: to_json_tensor(y) for name, y in zip(names, ys)},
            }
            ref_dir = os.path.dirname(os.path.abspath(args.dump_reference))
            os.makedirs(ref_dir, exist_ok=True)
            with open(args.dump_reference, "w") as f:
                json.dump(ref, f, separators=(",", ":"))
    except ExportError as exc:
        sys.stderr.write(f"export_backbone: error: {exc}\n")
        return 2

    size_mb = os.path.getsize(args.out) / 1e6
    print(
        f"export_backbone: {args.arch} -> {args.out} outputs={','.join(names)} "
        f"size={size_mb:.1f}MB opset={args.opset} in {time.monotonic() - t0:.1f}s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
