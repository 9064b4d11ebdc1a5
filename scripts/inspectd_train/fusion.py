"""S002: a multi-level feature fusion network on MobileNetV2, trained with pseudo-anomalies.

The seed builds it on ResNet50 layers 1-3; here the backbone is MobileNetV2 (the project's feature model, and
the only ImageNet weights at hand) tapped at strides 4, 8, 16 as scripts/export_backbone.py does:
- the low levels (s4, s8) go through a statistical texture branch (STLNet's quantization-counting: each
  position's cosine similarity to the image's mean feature is soft-assigned to N levels between that image's
  lowest and highest similarity, and the assignments are counted in windows of three sizes, the pyramid);
- the deep level (s16) goes through a self-calibrated convolution (SCConv: half the channels gated by a
  coarse, pooled view of themselves);
- everything is brought to the s8 grid and fused by a 1x1 and a 3x3 conv into psi(X), D channels per
  position; the score head eta is one fully connected layer per position (a 1x1 conv).
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

from .hybrid import TAP_CHANNELS, TAPS


class Backbone(nn.Module):
    """MobileNetV2 features to stride 16; returns the s4, s8, s16 levels."""

    def __init__(self):
        super().__init__()
        import torchvision

        self.features = torchvision.models.mobilenet_v2(weights=None).features[: TAPS[-1] + 1]

    def forward(self, x):
        levels = []
        grad = torch.is_grad_enabled()
        for i, block in enumerate(self.features):
            # Frozen blocks keep no activations for a backward pass: most of a CPU step's time and memory.
            with torch.set_grad_enabled(grad and any(p.requires_grad for p in block.parameters())):
                x = block(x)
            if i in TAPS:
                levels.append(x)
        return levels

    def trainable_tail(self, blocks):
        """Freezes everything but the last `blocks` blocks; returns their parameters."""
        for p in self.features.parameters():
            p.requires_grad_(False)
        tail = list(self.features[len(self.features) - blocks :]) if blocks else []
        params = [p for b in tail for p in b.parameters()]
        for p in params:
            p.requires_grad_(True)
        return params


class TextureBranch(nn.Module):
    """Quantization and counting (STLNet's QCO) on one level, counted in windows of three sizes."""

    def __init__(self, channels, out, levels=8, windows=(3, 7, 15)):
        super().__init__()
        self.reduce = nn.Conv2d(channels, 32, 1)
        self.levels = levels
        self.windows = windows
        self.mlp = nn.Sequential(nn.Conv2d(levels * len(windows) + 32, out, 1), nn.ReLU(inplace=True))

    def forward(self, x):
        f = self.reduce(x)
        mean = f.mean(dim=(2, 3), keepdim=True)
        sim = F.cosine_similarity(f, mean.expand_as(f), dim=1, eps=1e-6).unsqueeze(1)  # [N,1,H,W]
        lo = sim.amin(dim=(2, 3), keepdim=True)
        hi = sim.amax(dim=(2, 3), keepdim=True)
        span = (hi - lo).clamp_min(1e-6)
        steps = torch.arange(self.levels, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
        centres = lo + span * (steps + 0.5) / self.levels
        # The seed's hard level membership as a triangle of one level's width, so counts are differentiable.
        assign = F.relu(1 - (sim - centres).abs() * self.levels / span)
        counts = [F.avg_pool2d(assign, k, 1, k // 2, count_include_pad=False) for k in self.windows]
        return self.mlp(torch.cat([f, *counts], 1))


class SelfCalibratedConv(nn.Module):
    """SCConv: one half of the channels is gated by a 4x pooled view of itself, the other is a plain conv."""

    def __init__(self, channels, pool=4):
        super().__init__()
        half = channels // 2
        self.half = half
        self.pool = pool
        conv = lambda a, b: nn.Conv2d(a, b, 3, padding=1)  # noqa: E731
        self.k2, self.k3, self.k4 = conv(half, half), conv(half, half), conv(half, half)
        self.k1 = conv(channels - half, channels - half)

    def forward(self, x):
        x1, x2 = x[:, : self.half], x[:, self.half :]
        coarse = self.k2(F.avg_pool2d(x1, self.pool, self.pool, ceil_mode=True))
        gate = torch.sigmoid(x1 + F.interpolate(coarse, size=x1.shape[-2:], mode="bilinear", align_corners=False))
        y1 = self.k4(self.k3(x1) * gate)
        return F.relu(torch.cat([y1, self.k1(x2)], 1))


class FusionHead(nn.Module):
    """Levels -> psi [N,D,h8,w8] and the score map eta(psi) [N,1,h8,w8]."""

    def __init__(self, dim=64):
        super().__init__()
        c4, c8, c16 = TAP_CHANNELS
        self.tex4 = TextureBranch(c4, 32)
        self.tex8 = TextureBranch(c8, 32)
        self.sc16 = SelfCalibratedConv(c16)
        self.fuse = nn.Sequential(
            nn.Conv2d(32 + c4 + 32 + c8 + c16, 128, 1),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, dim, 3, padding=1),
        )
        self.eta = nn.Conv2d(dim, 1, 1)

    def forward(self, s4, s8, s16):
        size = s8.shape[-2:]
        low = torch.cat([self.tex4(s4), s4], 1)
        low = F.interpolate(low, size=size, mode="bilinear", align_corners=False)
        mid = torch.cat([self.tex8(s8), s8], 1)
        deep = F.interpolate(self.sc16(s16), size=size, mode="bilinear", align_corners=False)
        psi = self.fuse(torch.cat([low, mid, deep], 1))
        return psi, self.eta(psi)


def hypersphere(psi):
    """A(x) = sqrt(||psi(x)||^2 + 1) - 1 per position (the seed's pseudo-Huber distance to the centre 0)."""
    return torch.sqrt((psi * psi).sum(1, keepdim=True) + 1) - 1


class FusionNet(nn.Module):
    def __init__(self, dim=64):
        super().__init__()
        self.backbone = Backbone()
        self.head = FusionHead(dim)

    def forward(self, x):
        s4, s8, s16 = self.backbone(x)
        return self.head(s4, s8, s16)


class FusionExport(nn.Module):
    """What the recipe needs: `score_map` (eta) and `feature_map` (A(psi)), both [N,1,H/8,W/8]."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        psi, score = self.net(x)
        return score, hypersphere(psi)
