"""S003: MobileNetV2 fine-tuned on a jigsaw task, with MFCSAM fusion of its levels, for a Gaussian per position.

The seed fine-tunes wide_resnet50_2 by classifying which of P permutations shuffled an image's n x n tiles,
then fuses three levels X1, X2, X3 as Y1 = conv1x1(X1) + MFCSAM(X1), Y2 = X2, Y3 = MFCSAM(X3), Y = their
concatenation, and fits a Gaussian per position of Y. Here the backbone is MobileNetV2 (the weights at hand)
and the MFCSAM modules learn with the jigsaw head, which reads Y, so the fusion is trained rather than random.
MFCSAM (multi-scale frequency-channel self-attention): four branches of kernels 3, 5, 7, 9, each a quarter of
the channels, each reweighted by frequency channel attention (FcaNet: channel groups pooled with 2-D DCT bases
of low frequencies) and then by position self-attention (P, K, V: every position attends to every other).
"""

import itertools
import math
import random

import torch
import torch.nn as nn
import torch.nn.functional as F

from .fusion import Backbone
from .hybrid import TAP_CHANNELS

FUSED = "mfcsam_{}ch"


def dct_basis(h, w, u, v, device, dtype):
    """The 2-D DCT-II basis of frequency (u, v) on an h x w grid, normalized to unit mean magnitude."""
    y = torch.arange(h, device=device, dtype=dtype).view(h, 1)
    x = torch.arange(w, device=device, dtype=dtype).view(1, w)
    return torch.cos(math.pi * u * (y + 0.5) / h) * torch.cos(math.pi * v * (x + 0.5) / w)


class FrequencyChannelAttention(nn.Module):
    """FcaNet: channel groups pooled with the DCT bases of (0,0), (0,1), (1,0), (1,1); FC-ReLU-FC-sigmoid."""

    FREQS = ((0, 0), (0, 1), (1, 0), (1, 1))

    def __init__(self, channels, reduction=4):
        super().__init__()
        hidden = max(4, channels // reduction)
        self.fc = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels))

    def forward(self, x):
        n, c, h, w = x.shape
        groups = torch.chunk(x, len(self.FREQS), dim=1)
        pooled = [
            (g * dct_basis(h, w, u, v, x.device, x.dtype)).mean(dim=(2, 3))
            for g, (u, v) in zip(groups, self.FREQS)
        ]
        weight = torch.sigmoid(self.fc(torch.cat(pooled, 1)))
        return x * weight.view(n, c, 1, 1)


class PositionAttention(nn.Module):
    """DANet's position attention: S = softmax(P^T K) over positions, out = V S^T, added at a learnt weight
    that starts at 0 (so the module starts as the identity and the backbone's features are kept). With
    `kv_pool` k, keys and values come from a k x k average-pooled map: every position still attends to the
    whole image, at 1/k^2 of the cost (on the stride-8 grid, full attention was most of a CPU step)."""

    def __init__(self, channels, kv_pool=1):
        super().__init__()
        inner = max(2, channels // 8)
        self.p = nn.Conv2d(channels, inner, 1)
        self.k = nn.Conv2d(channels, inner, 1)
        self.v = nn.Conv2d(channels, channels, 1)
        self.gamma = nn.Parameter(torch.zeros(1))
        self.kv_pool = kv_pool

    def forward(self, x):
        n, c, h, w = x.shape
        kv = F.avg_pool2d(x, self.kv_pool, ceil_mode=True) if self.kv_pool > 1 else x
        p = self.p(x).flatten(2).transpose(1, 2)  # [N, HW, C']
        k = self.k(kv).flatten(2)  # [N, C', hw]
        s = torch.softmax(torch.bmm(p, k), dim=-1)  # [N, HW, hw]
        out = torch.bmm(self.v(kv).flatten(2), s.transpose(1, 2)).view(n, c, h, w)
        return x + self.gamma * out


class MFCSAM(nn.Module):
    def __init__(self, channels, branches=4, kv_pool=1):
        super().__init__()
        quarter = channels // branches
        widths = [quarter] * (branches - 1) + [channels - quarter * (branches - 1)]
        self.branches = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, cw, 2 * (i + 1) + 1, padding=i + 1),
                FrequencyChannelAttention(cw),
                PositionAttention(cw, kv_pool),
            )
            for i, cw in enumerate(widths)
        )

    def forward(self, x):
        return torch.cat([b(x) for b in self.branches], 1)


class JigsawBackbone(nn.Module):
    """Image -> (s4, s8, s16, Y). Y is on the stride-8 grid: X1 is average-pooled to it before its MFCSAM,
    because position attention over every stride-4 position (3136 at 224 px) needs a 3136 x 3136 matrix per
    branch and image, too much for a CPU batch (and a 152-channel Gaussian per stride-4 position would be
    about 290 MB); X3's MFCSAM runs at stride 16 and is upsampled."""

    def __init__(self):
        super().__init__()
        c4, c8, c16 = TAP_CHANNELS
        self.backbone = Backbone()
        self.conv1 = nn.Conv2d(c4, c4, 1)
        self.low = MFCSAM(c4, kv_pool=2)
        self.deep = MFCSAM(c16)
        self.channels = c4 + c8 + c16

    def forward(self, x):
        s4, s8, s16 = self.backbone(x)
        x1 = F.avg_pool2d(s4, 2, ceil_mode=True)
        y1 = self.conv1(x1) + self.low(x1)
        y3 = F.interpolate(self.deep(s16), size=s8.shape[-2:], mode="bilinear", align_corners=False)
        y1 = F.interpolate(y1, size=s8.shape[-2:], mode="bilinear", align_corners=False)
        return s4, s8, s16, torch.cat([y1, s8, y3], 1)


class JigsawNet(nn.Module):
    """The jigsaw classifier: Y pooled to the 3x3 tile grid (so where each tile's content sits is kept), then
    one linear layer to the permutation classes."""

    def __init__(self, permutations, grid=3):
        super().__init__()
        self.features = JigsawBackbone()
        self.grid = grid
        self.head = nn.Linear(self.features.channels * grid * grid, permutations)

    def forward(self, x):
        y = self.features(x)[3]
        return self.head(F.adaptive_avg_pool2d(y, self.grid).flatten(1))


def permutations(count, grid, seed):
    """`count` permutations of grid*grid tiles, the identity first, then greedily the one farthest (Hamming)
    from those chosen, out of a seeded random pool (Noroozi and Favaro's selection)."""
    n = grid * grid
    rng = random.Random(seed)
    pool = {tuple(rng.sample(range(n), n)) for _ in range(2000)}
    pool.discard(tuple(range(n)))
    pool = sorted(pool)
    chosen = [tuple(range(n))]
    dist = [sum(a != b for a, b in zip(p, chosen[0])) for p in pool]
    while len(chosen) < min(count, len(pool) + 1):
        best = max(range(len(pool)), key=lambda i: (dist[i], -i))
        chosen.append(pool[best])
        dist = [min(d, sum(a != b for a, b in zip(p, pool[best]))) for d, p in zip(dist, pool)]
        dist[best] = -1
    return chosen


def shuffle_tiles(x, perm, grid):
    """x [3,H,W] (H, W multiples of grid) with its tiles reordered: output tile i is input tile perm[i]."""
    _, h, w = x.shape
    th, tw = h // grid, w // grid
    tiles = [x[:, r * th : (r + 1) * th, c * tw : (c + 1) * tw] for r, c in itertools.product(range(grid), range(grid))]
    rows = [torch.cat([tiles[perm[r * grid + c]] for c in range(grid)], 2) for r in range(grid)]
    return torch.cat(rows, 1)


class JigsawExport(nn.Module):
    """The fine-tuned backbone as inspectd reads a feature backbone: s4_24ch, s8_32ch, s16_96ch and the fused Y."""

    def __init__(self, features):
        super().__init__()
        self.features = features

    def forward(self, x):
        return self.features(x)
