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
