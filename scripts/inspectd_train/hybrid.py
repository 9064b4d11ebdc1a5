"""S004 (Denso patent): feature extractor phi (image -> Z) and image reconstructor psi (Z -> image)."""

import os

import torch
import torch.nn as nn

from .errors import TrainError

# MobileNetV2 `features` indices after which the strides 4, 8, 16 end (as scripts/export_backbone.py).
TAPS = (3, 6, 13)
TAP_CHANNELS = (24, 32, 96)


class Phi(nn.Module):
    """MobileNetV2 features up to stride 16 (optionally ImageNet-initialized), then a 1x1 conv to the latent
    Z [N, latent, S/16, S/16]. Also returns the tapped levels (e1..e3)."""

    def __init__(self, latent):
        super().__init__()
        import torchvision

        self.features = torchvision.models.mobilenet_v2(weights=None).features[: TAPS[-1] + 1]
        self.to_z = nn.Conv2d(TAP_CHANNELS[-1], latent, 1)

    def forward(self, x):
        levels = []
        for i, block in enumerate(self.features):
            x = block(x)
            if i in TAPS:
                levels.append(x)
        return self.to_z(x), levels

    def freeze_batchnorm(self):
        # Small batches would wreck ImageNet's BN statistics; keep them (eval mode), train the weights.
        for m in self.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()


def load_imagenet(phi, path):
    if not os.path.isfile(path):
        raise TrainError(f"--backbone-weights {path} is not a file; pass torchvision's mobilenet_v2 state_dict .pth")
    try:
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # assorted pickle/zip errors
        raise TrainError(f"--backbone-weights {path} is not a torch state_dict ({type(exc).__name__})") from None
    ours = {k: v for k, v in sd.items() if k.startswith("features.")}
    ours = {k[len("features."):]: v for k, v in ours.items() if int(k.split(".")[1]) <= TAPS[-1]}
    missing, unexpected = phi.features.load_state_dict(ours, strict=False)
    if missing:
        raise TrainError(
            f"--backbone-weights {path} is not a mobilenet_v2 state_dict (missing {', '.join(missing[:3])}, ...)"
        )


class Psi(nn.Module):
    """Z -> image: four (nearest x2 upsample + 3x3 conv + LeakyReLU) blocks, then a 3x3 conv to RGB.
    No batch norm: it would defeat both gradient regularizers (spectral norm bounds each layer's gain)."""

    def __init__(self, latent, widths=(128, 96, 64, 32)):
        super().__init__()
        layers = [nn.Conv2d(latent, widths[0], 3, padding=1), nn.LeakyReLU(0.2)]
        prev = widths[0]
        for w in widths:
            layers += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(prev, w, 3, padding=1), nn.LeakyReLU(0.2)]
            prev = w
        layers.append(nn.Conv2d(prev, 3, 3, padding=1))
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z)


class HybridNet(nn.Module):
    def __init__(self, latent, latent_hw):
        super().__init__()
        self.phi = Phi(latent)
        self.psi = Psi(latent)
        # C: the center of Z over good images, a moving average during training (saved with the model).
        self.register_buffer("center", torch.zeros(1, latent, latent_hw, latent_hw))
        self.register_buffer("center_ready", torch.zeros((), dtype=torch.bool))

    def forward(self, x):
        z, levels = self.phi(x)
        return z, self.psi(z), levels


class HybridExport(nn.Module):
    """The exported graph: input -> (z, recon, e1, e2, e3)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        z, recon, levels = self.net(x)
        return (z, recon, *levels)


# ---- S004 on features: phi's frozen ImageNet levels are what psi reconstructs --------------------------------
# Pixels of a textured part are hard to reconstruct and easy to reconstruct wrongly (the pixel recipe ranks
# magnetic_tile's defects near chance); the backbone's levels are the description of a part every feature recipe
# scores, so the feature target reconstructs those instead.
FEATURE_TAPS = (6, 13)  # strides 8 and 16
FEATURE_CHANNELS = TAP_CHANNELS[1] + TAP_CHANNELS[2]
# --standardize -> which of F's statistics FeatureLevels takes per position.
STANDARDIZE = {"channel": "none", "position-mean": "mean", "position": "both"}


class FeatureLevels(nn.Module):
    """Frozen MobileNetV2 to stride 16 -> F [N, 128, S/8, S/8]: the s8 and s16 levels, each averaged over its 3x3
    neighbourhood (as fit's feature recipes take them), s16 upsampled to the s8 grid, standardized by the training
    images' statistics, per channel or also per position (buffers, so the exported model carries them)."""

    def __init__(self, grid=None, per_position="none"):
        super().__init__()
        import torchvision

        self.features = torchvision.models.mobilenet_v2(weights=None).features[: FEATURE_TAPS[-1] + 1]
        for p in self.features.parameters():
            p.requires_grad_(False)
        # per_position "mean" or "both" (with F's grid (H, W)): the statistics per position too, since a part's
        # look varies with position; "none": per channel only.
        self.per_position = per_position
        cell = tuple(grid) if per_position != "none" else (1, 1)
        self.register_buffer("mean", torch.zeros((1, FEATURE_CHANNELS) + cell))
        self.register_buffer("std", torch.ones((1, FEATURE_CHANNELS) + (cell if per_position == "both" else (1, 1))))

    def raw(self, x):
        levels = []
        for i, block in enumerate(self.features):
            x = block(x)
            if i in FEATURE_TAPS:
                levels.append(nn.functional.avg_pool2d(x, 3, 1, 1))
        s8, s16 = levels
        s16 = nn.functional.interpolate(s16, size=s8.shape[-2:], mode="bilinear", align_corners=False)
        return torch.cat([s8, s16], 1)

    def forward(self, x):
        return (self.raw(x) - self.mean) / self.std

    @torch.no_grad()
    def fit_statistics(self, images, batch=32):
        """The mean and spread of F over `images`; returns F of every image (standardized), the training
        data of the autoencoder (the frozen backbone runs once per image, not once per iteration)."""
        self.eval()
        raw = torch.cat([self.raw(images[i : i + batch]) for i in range(0, images.shape[0], batch)])
        self.mean.copy_(raw.mean((0,) if self.per_position != "none" else (0, 2, 3), keepdim=True))
        residual = raw - self.mean
        spread = residual.pow(2).mean((0,) if self.per_position == "both" else (0, 2, 3), keepdim=True).sqrt()
        self.std.copy_(spread.clamp_min(1e-6))
        return (raw - self.mean) / self.std


def load_imagenet_levels(levels, path):
    """The ImageNet weights into FeatureLevels (the same checks as load_imagenet)."""
    holder = Phi(1)
    load_imagenet(holder, path)
    levels.features.load_state_dict(holder.features.state_dict())


class FeatureHybridNet(nn.Module):
    """phi's trainable part: F -> Z [N, latent, S/8, S/8] by 1x1 convs (each position's description compressed
    on its own); psi: Z -> F^ likewise. A bottleneck per position reconstructs the normal parts' features and
    fails on features it never saw."""

    def __init__(self, latent, hidden, latent_hw, per_position="none"):
        super().__init__()
        self.levels = FeatureLevels((latent_hw, latent_hw), per_position)
        self.encoder = nn.Sequential(
            nn.Conv2d(FEATURE_CHANNELS, hidden, 1), nn.LeakyReLU(0.2), nn.Conv2d(hidden, latent, 1)
        )
        self.psi = nn.Sequential(
            nn.Conv2d(latent, hidden, 1), nn.LeakyReLU(0.2), nn.Conv2d(hidden, FEATURE_CHANNELS, 1)
        )
        self.register_buffer("center", torch.zeros(1, latent, latent_hw, latent_hw))
        self.register_buffer("center_ready", torch.zeros((), dtype=torch.bool))

    def reconstruct(self, f):
        z = self.encoder(f)
        return z, self.psi(z)


class FeatureHybridExport(nn.Module):
    """The exported graph: input -> (z, recon = F^, target = F)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        f = self.net.levels(x)
        z, recon = self.net.reconstruct(f)
        return z, recon, f
