"""Pseudo-anomalies with their masks, for the training scripts that learn from defects they make themselves.

Kinds (each a different failure a line sees; `src/eval/synthetic.ts` draws the same families for `eval
--synthetic`, so a recipe can be measured on defects it was not trained on by training on a subset):
- texture:  DRAEM. A Perlin-noise blob filled with foreign texture (another good image of the batch,
            transposed so its structure runs across the part's, brightened or darkened), blended at beta.
- cutpaste: CutPaste. A rectangle of the image itself, mirrored or not, colour-jittered, pasted elsewhere.
- confetti: FCDD's confetti noise. A few small rectangles of one random colour each.
- scratch:  a thin curved stroke, darker or lighter, with soft edges.
- dent:     an elliptical bump lit from one side.

Images are float tensors [3,H,W] in [0,1]; masks [H,W] float, 1 inside the defect. Every draw takes a
torch.Generator, so a seed gives the same defects.
"""

import math

import torch

from .errors import TrainError

KINDS = ("texture", "cutpaste", "confetti", "scratch", "dent")


def parse_kinds(text):
    """--kinds "a,b" -> ["a", "b"], or a TrainError naming the unknown ones."""
    kinds = [k for k in text.split(",") if k]
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise TrainError(f"--kinds {text}: unknown {','.join(bad) or 'empty'}; pick from {','.join(KINDS)}")
    return kinds


def _u(gen, lo, hi):
    return lo + (hi - lo) * torch.rand((), generator=gen).item()


def _i(gen, lo, hi):
    """Integer in [lo, hi)."""
    return int(torch.randint(lo, max(hi, lo + 1), (), generator=gen).item())


def perlin(h, w, cells, gen):
    """2-D gradient noise, about [-1, 1]; `cells` lattice cells across the shorter side."""
    step = min(h, w) / cells
    gh, gw = math.ceil(h / step) + 2, math.ceil(w / step) + 2
    angle = torch.rand(gh, gw, generator=gen) * 2 * math.pi
    gx, gy = torch.cos(angle), torch.sin(angle)
    fy = torch.arange(h, dtype=torch.float32).view(h, 1) / step
    fx = torch.arange(w, dtype=torch.float32).view(1, w) / step
    y0, x0 = fy.floor().long(), fx.floor().long()
    ty, tx = fy - y0, fx - x0

    def dot(cy, cx):
        return gx[cy, cx] * (fx - cx) + gy[cy, cx] * (fy - cy)

    fade = lambda t: t * t * t * (t * (t * 6 - 15) + 10)  # noqa: E731
    u, v = fade(tx), fade(ty)
    top = dot(y0, x0) + u * (dot(y0, x0 + 1) - dot(y0, x0))
    bottom = dot(y0 + 1, x0) + u * (dot(y0 + 1, x0 + 1) - dot(y0 + 1, x0))
    return (top + v * (bottom - top)) * math.sqrt(2)


def _window(h, w, gen, lo, hi):
    wh = max(4, round(h * _u(gen, lo, hi)))
    ww = max(4, round(w * _u(gen, lo, hi)))
    wh, ww = min(wh, h), min(ww, w)
    return _i(gen, 0, h - wh + 1), _i(gen, 0, w - ww + 1), wh, ww


def texture(img, other, gen):
    _, h, w = img.shape
    y, x, wh, ww = _window(h, w, gen, 0.15, 0.4)
    blob = (perlin(wh, ww, _i(gen, 2, 5), gen) > _u(gen, 0.1, 0.4)).float()
    beta = _u(gen, 0.5, 1.0)
    gain = _u(gen, 0.4, 0.8) if torch.rand((), generator=gen) < 0.5 else _u(gen, 1.2, 1.8)
    src = other.transpose(1, 2)  # the texture runs across the part's own structure
    sy, sx = _i(gen, 0, src.shape[1] - wh + 1), _i(gen, 0, src.shape[2] - ww + 1)
    patch = (src[:, sy : sy + wh, sx : sx + ww] * gain).clamp(0, 1)
    out, mask = img.clone(), torch.zeros(h, w)
    region = out[:, y : y + wh, x : x + ww]
    out[:, y : y + wh, x : x + ww] = region + blob * beta * (patch - region)
    mask[y : y + wh, x : x + ww] = blob
    return out, mask


def cutpaste(img, gen):
    _, h, w = img.shape
    sy, sx, wh, ww = _window(h, w, gen, 0.08, 0.25)
    if torch.rand((), generator=gen) < 0.3:  # CutPaste's "scar": long and thin
        wh, ww = max(2, wh // 4), min(w, ww * 2)
        sx = min(sx, w - ww)
    patch = img[:, sy : sy + wh, sx : sx + ww]
    if torch.rand((), generator=gen) < 0.5:
        patch = patch.flip(2)
    jitter = torch.empty(3, 1, 1).uniform_(0.85, 1.15, generator=gen)
    dy, dx = _i(gen, 0, h - wh + 1), _i(gen, 0, w - ww + 1)
    out, mask = img.clone(), torch.zeros(h, w)
    out[:, dy : dy + wh, dx : dx + ww] = (patch * jitter).clamp(0, 1)
    mask[dy : dy + wh, dx : dx + ww] = 1
    return out, mask


def confetti(img, gen):
    _, h, w = img.shape
    out, mask = img.clone(), torch.zeros(h, w)
    side = min(h, w)
    for _ in range(_i(gen, 3, 9)):
        bh, bw = _i(gen, max(2, side // 40), max(3, side // 12)), _i(gen, max(2, side // 40), max(3, side // 12))
        y, x = _i(gen, 0, h - bh + 1), _i(gen, 0, w - bw + 1)
        colour = torch.rand(3, 1, 1, generator=gen)
        out[:, y : y + bh, x : x + bw] = colour
        mask[y : y + bh, x : x + bw] = 1
    return out, mask


def scratch(img, gen):
    _, h, w = img.shape
    side = min(h, w)
    length = side * _u(gen, 0.2, 0.6)
    half = max(0.7, side * _u(gen, 0.004, 0.012))
    delta = (-1 if torch.rand((), generator=gen) < 0.6 else 1) * _u(gen, 0.2, 0.43)
    x, y = _u(gen, 0.15, 0.85) * w, _u(gen, 0.15, 0.85) * h
    angle = _u(gen, 0, 2 * math.pi)
    bend = _u(gen, -1.5, 1.5) / length
    weight = torch.zeros(h, w)
    ys = torch.arange(h, dtype=torch.float32).view(h, 1)
    xs = torch.arange(w, dtype=torch.float32).view(1, w)
    r = math.ceil(half + 1)
    t = 0.0
    while t < length:
        x += math.cos(angle)
        y += math.sin(angle)
        angle += bend
        t += 1.0
        y0, y1, x0, x1 = max(0, int(y) - r), min(h, int(y) + r + 2), max(0, int(x) - r), min(w, int(x) + r + 2)
        if y0 >= y1 or x0 >= x1:
            continue
        d = torch.sqrt((ys[y0:y1] - y) ** 2 + (xs[:, x0:x1] - x) ** 2)
        weight[y0:y1, x0:x1] = torch.maximum(weight[y0:y1, x0:x1], (half + 0.5 - d).clamp(0, 1))
    out = (img + delta * weight).clamp(0, 1)
    return out, (weight > 0).float()


def dent(img, gen):
    _, h, w = img.shape
    side = min(h, w)
    rx = side * _u(gen, 0.04, 0.12)
    ry = rx * _u(gen, 0.5, 1.5)
    cx, cy = _u(gen, 0.15, 0.85) * w, _u(gen, 0.15, 0.85) * h
    light = _u(gen, 0, 2 * math.pi)
    amp = _u(gen, 0.16, 0.35)
    u = (torch.arange(w, dtype=torch.float32).view(1, w) - cx) / rx
    v = (torch.arange(h, dtype=torch.float32).view(h, 1) - cy) / ry
    r2 = u * u + v * v
    inside = (r2 < 1).float()
    shade = amp * (u * math.cos(light) + v * math.sin(light)) * (1 - r2) * 2 * inside
    return (img + shade).clamp(0, 1), inside


def synthesize(img, other, kind, gen):
    """One defect of `kind` on a copy of img [3,H,W] in [0,1] -> (image, mask [H,W]). A draw too faint to
    see (plain surface pasted onto plain surface) is drawn again, up to a few times."""
    best, best_change = None, -1.0
    for _ in range(4):
        if kind == "texture":
            out, mask = texture(img, other, gen)
        elif kind == "cutpaste":
            out, mask = cutpaste(img, gen)
        elif kind == "confetti":
            out, mask = confetti(img, gen)
        elif kind == "scratch":
            out, mask = scratch(img, gen)
        elif kind == "dent":
            out, mask = dent(img, gen)
        else:
            raise ValueError(f"unknown synthetic defect kind {kind!r}; one of {', '.join(KINDS)}")
        area = mask.sum().item()
        change = ((out - img).abs().mean(0) * mask).sum().item() / max(area, 1.0)
        if change > best_change:
            best, best_change = (out, mask), change
        if change >= 8 / 255:  # as src/eval/synthetic.ts: 8 levels per footprint pixel is visible
            break
    return best


def pseudo_batch(x01, kinds, fraction, gen):
    """A batch [B,3,H,W] in [0,1] -> (images, masks [B,1,H,W]): `fraction` of the images get one defect of a
    kind drawn from `kinds` (the texture borrowed from another image of the batch); the rest stay good."""
    b = x01.shape[0]
    out, masks = x01.clone(), torch.zeros(b, 1, x01.shape[2], x01.shape[3])
    n_bad = round(b * fraction)
    for i in range(n_bad):
        kind = kinds[_i(gen, 0, len(kinds))]
        other = x01[(i + 1 + _i(gen, 0, max(1, b - 1))) % b]
        out[i], masks[i, 0] = synthesize(x01[i], other, kind, gen)
    return out, masks
