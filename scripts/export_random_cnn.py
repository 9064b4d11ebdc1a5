#!/usr/bin/python3
"""Export a small fixed-seed randomly initialized CNN as a multi-level feature ONNX model.

This is the demo recipe's backbone: inspectd may not ship third-party ImageNet weights, and a random
convolutional network still gives local texture features that a per-position Gaussian (PaDiM) can model
(random projections of image patches). Outputs follow export_backbone.py's conventions: input `input`
[N,3,H,W] (ImageNet mean/std normalized RGB), outputs s{stride}_{channels}ch, dynamic N/H/W, metadata.

Usage: /usr/bin/python3 scripts/export_random_cnn.py --seed 7 --out models/demo-backbone.onnx
"""

import argparse
import sys
import time

try:
    import onnx
    import torch
except ImportError as exc:  # pragma: no cover - environment problem
    sys.stderr.write(
        f"export_random_cnn: error: cannot import {exc.name!r} with {sys.executable}. "
        "Run with /usr/bin/python3 (Debian's python3-torch, python3-onnx) or set INSPECTD_PYTHON.\n"
    )
    sys.exit(2)

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
# (out channels, stride after this conv); every conv is 3x3, stride 2, ReLU.
WIDTHS = [16, 32, 48, 64]


class RandomCnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        chans = [3] + WIDTHS
        self.convs = torch.nn.ModuleList(
            torch.nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1) for i in range(len(WIDTHS))
        )

    def forward(self, x):
        outs = []
        for i, conv in enumerate(self.convs):
            x = torch.relu(conv(x))
            if i >= 1:  # strides 4, 8, 16
                outs.append(x)
        return tuple(outs)


def names():
    return [f"s{2 ** (i + 1)}_{c}ch" for i, c in enumerate(WIDTHS)][1:]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out", required=True)
    p.add_argument("--opset", type=int, default=13)
    args = p.parse_args(argv)
    t0 = time.monotonic()
    torch.manual_seed(args.seed)
    net = RandomCnn().eval()
    with torch.no_grad():
        for conv in net.convs:
            # Variance-preserving scale keeps activations in a sane range through the stack.
            torch.nn.init.kaiming_normal_(conv.weight, mode="fan_in", nonlinearity="relu")
            torch.nn.init.zeros_(conv.bias)
    outs = names()
    dyn = {"input": {0: "N", 2: "H", 3: "W"}}
    for n in outs:
        dyn[n] = {0: "N", 2: f"H_{n.split('_')[0]}", 3: f"W_{n.split('_')[0]}"}
    torch.onnx.export(
        net, torch.zeros(1, 3, 128, 128), args.out, input_names=["input"], output_names=outs,
        dynamic_axes=dyn, opset_version=args.opset, do_constant_folding=True,
    )
    m = onnx.load(args.out)
    meta = {
        "inspectd.kind": "backbone",
        "inspectd.arch": f"random_cnn_{'-'.join(map(str, WIDTHS))}",
        "inspectd.outputs": ",".join(outs),
        "inspectd.strides": "4,8,16",
        "inspectd.mean": ",".join(map(str, MEAN)),
        "inspectd.std": ",".join(map(str, STD)),
        "inspectd.color": "rgb",
        "inspectd.weights_sha256": f"random:{args.seed}",
        "inspectd.exporter": "scripts/export_random_cnn.py",
        "inspectd.torch_version": torch.__version__,
    }
    for k, v in meta.items():
        e = m.metadata_props.add()
        e.key, e.value = k, v
    onnx.checker.check_model(m)
    onnx.save(m, args.out)
    print(f"export_random_cnn: seed {args.seed} -> {args.out} outputs={','.join(outs)} in {time.monotonic() - t0:.1f}s")


if __name__ == "__main__":
    main()
