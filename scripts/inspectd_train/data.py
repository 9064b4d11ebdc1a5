"""Good images -> one normalized float tensor [N,3,S,S], preprocessed as inspectd does (RGB, stretch-resize
bilinear to S x S, ImageNet mean/std), so the model trains on what the recipe will see."""

import math
import os

import torch

from .errors import TrainError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def list_images(folder):
    if not os.path.isdir(folder):
        raise TrainError(f"--images {folder} is not a folder; pass a folder of good images (e.g. train/good)")
    # The same list and order as inspectd's listImages, so a held-out split names the same images.
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(IMAGE_EXTS))
    if not files:
        raise TrainError(f"--images {folder} has no images ({', '.join(IMAGE_EXTS)}); pass a folder of good images")
    return files


def split_holdout(files, fraction):
    """(kept, held out): every (1/fraction)th image in name order is held out, as `inspectd fit --holdout`
    splits them (src/fit/fitCommon.ts splitHoldout), so fit's threshold comes from images training never saw."""
    kept, held = [], []
    for i, f in enumerate(files):
        (held if math.floor((i + 1) * fraction) > math.floor(i * fraction) else kept).append(f)
    return kept, held


def load_images(files, size, limit=None, log=None):
    """Returns (tensor [N,3,size,size] normalized, used files, skipped [(file, reason)])."""
    from PIL import Image  # Pillow is only needed here

    mean = torch.tensor(MEAN).view(3, 1, 1)
    std = torch.tensor(STD).view(3, 1, 1)
    out, used, skipped = [], [], []
    for f in files[:limit] if limit else files:
        try:
            with Image.open(f) as im:
                rgb = im.convert("RGB").resize((size, size), Image.BILINEAR)
        except Exception as exc:  # PIL raises assorted errors on broken files
            skipped.append((f, f"{type(exc).__name__}: {exc}"))
            if log:
                log(f"skipping unreadable image {f}: {exc}")
            continue
        t = torch.frombuffer(bytearray(rgb.tobytes()), dtype=torch.uint8).view(size, size, 3)
        out.append((t.permute(2, 0, 1).float() / 255.0 - mean) / std)
        used.append(f)
    if not out:
        raise TrainError(f"none of the {len(files)} images could be read; see the messages above")
    return torch.stack(out), used, skipped


def denormalize(x):
    """Normalized tensor -> [0,1]-range RGB (SSIM's constants assume that range)."""
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    return x * std + mean
