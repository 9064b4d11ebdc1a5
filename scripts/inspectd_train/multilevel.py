"""S000 (NetEase patent): ConvDown64..512 encoder, FC low/high-level embeddings, ConvUp decoder, and two
latent discriminators against N(0, I) (an adversarial autoencoder)."""

import math

import torch
import torch.nn as nn

from .errors import TrainError
from .hybrid import FEATURE_CHANNELS

ENCODER = (64, 128, 256, 512)
LOW_DIM, HIGH_DIM = 128, 256  # the embeddings (FC128, FC256)
LOW_UP, HIGH_UP = 1024, 2048  # back towards the decoder (FC1024, FC2048)
# On F: three ConvDowns to the 4x4 grid at 256 px, the pixel encoder's first three widths (F has 128 channels;
# the decoder's last ConvUp to them at F's full grid dominates an iteration's cost).
FEATURE_ENCODER = (64, 128, 256)
GRID = 4  # embeddings are taken from maps pooled to 4x4; the decoder starts from a 4x4 grid


def check_size(size, features=False):
    """Pixels: 4 * 2^k (k >= 4). Features: F's grid (size / 8) must be 4 * 2^k (k >= 2) for the decoder's
    doublings from the 4x4 grid to land on it."""
    grid = size / 8 if features else size
    k = math.log2(grid / GRID) if grid > 0 else -1
    if k != int(k) or k < (2 if features else 4):
        need = "128, 256 or 512 pixels (F's grid 16, 32, 64)" if features else "4 * 2^k pixels (64, 128, 256)"
        raise TrainError(f"--size {size}: the multi-level autoencoder needs {need}")


class Encoder(nn.Module):
    def __init__(self, in_channels=3, widths=ENCODER):
        super().__init__()
        chans = (in_channels,) + tuple(widths)
        # ConvDown: 3x3 conv, stride 2, ReLU.
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1), nn.ReLU())
            for i in range(len(widths))
        )

    def forward(self, x):
        levels = []
        for block in self.down:
            x = block(x)
            levels.append(x)
        return levels


class MultiLevelAE(nn.Module):
    """Pixels (the patent): input [N,3,S,S], levels e1..e4 (strides 2..16), the low embedding from e2, the high
    from e4. Features (`channels` = F's): input F [N,C,G,G], levels e1..e3 (G/2..G/8), low from e1, high from e3;
    the decoder ends in F's channels."""

    def __init__(self, size, channels=3):
        super().__init__()
        features = channels != 3
        if not features:
            check_size(size)
        widths = FEATURE_ENCODER if features else ENCODER
        self.low_index, self.high_index = (0, 2) if features else (1, 3)
        self.encoder = Encoder(channels, widths)
        low_hw = size >> (self.low_index + 1)
        high_hw = size >> (self.high_index + 1)
        self.pool_low = nn.AvgPool2d(low_hw // GRID)
        self.pool_high = nn.AvgPool2d(max(high_hw // GRID, 1))
        high_grid = min(GRID, high_hw)
        self.fc_low = nn.Linear(widths[self.low_index] * GRID * GRID, LOW_DIM)
        self.fc_high = nn.Linear(widths[self.high_index] * high_grid * high_grid, HIGH_DIM)
        self.up_low = nn.Sequential(nn.Linear(LOW_DIM, LOW_UP), nn.ReLU())
        self.up_high = nn.Sequential(nn.Linear(HIGH_DIM, HIGH_UP), nn.ReLU())
        start = (LOW_UP + HIGH_UP) // (GRID * GRID)
        steps = int(math.log2(size // GRID))
        widths = [max(widths[-1] >> i, 16) for i in range(1, steps)] + [channels]
        ups, prev = [], start
        for i, w in enumerate(widths):
            # ConvUp: 3x3 transposed conv, stride 2, ReLU (none on the last: image and F are standardized, signed).
            # On features, nearest x2 + 3x3 conv: the same doubling, and about 6 times faster to train on a CPU,
            # where torch's transposed convolution is far slower per multiply than its plain one.
            if features:
                ups += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(prev, w, 3, padding=1)]
            else:
                ups.append(nn.ConvTranspose2d(prev, w, 3, stride=2, padding=1, output_padding=1))
            if i + 1 < len(widths):
                ups.append(nn.ReLU())
            prev = w
        self.decoder = nn.Sequential(*ups)
        self.start = start

    def embed(self, levels):
        low = self.fc_low(self.pool_low(levels[self.low_index]).flatten(1))
        high = self.fc_high(self.pool_high(levels[self.high_index]).flatten(1))
        return low, high

    def decode(self, low, high):
        h = torch.cat([self.up_low(low), self.up_high(high)], 1)
        return self.decoder(h.view(-1, self.start, GRID, GRID))

    def forward(self, x):
        levels = self.encoder(x)
        low, high = self.embed(levels)
        return low, high, self.decode(low, high), levels


def discriminator(dim, hidden=256):
    """FC layers -> the logit of 'this embedding is a sample of the prior'."""
    return nn.Sequential(
        nn.Linear(dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, 1)
    )


class MultiLevelExport(nn.Module):
    """The exported graph: input -> (z = [low, high], recon, e1..e4)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        low, high, recon, levels = self.net(x)
        return (torch.cat([low, high], 1), recon, *levels)


class FeatureMultiLevel(nn.Module):
    """S000 on features: the frozen ImageNet levels F (as the feature hybrid's) are what the autoencoder encodes
    and reconstructs."""

    def __init__(self, size, levels):
        super().__init__()
        check_size(size, features=True)
        self.levels = levels
        self.ae = MultiLevelAE(size // 8, FEATURE_CHANNELS)


class FeatureMultiLevelExport(nn.Module):
    """The exported graph: input -> (z = [low, high], recon = F^, target = F, e1..e3); e1..e3 depend on the
    input through `target` only, so fit re-encodes F^ by the nodes between them."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        f = self.net.levels(x)
        low, high, recon, levels = self.net.ae(f)
        return (torch.cat([low, high], 1), recon, f, *levels)
