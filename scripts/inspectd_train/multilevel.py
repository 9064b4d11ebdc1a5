"""S000 (NetEase patent): ConvDown64..512 encoder, FC low/high-level embeddings, ConvUp decoder, and two
latent discriminators against N(0, I) (an adversarial autoencoder)."""

import math

import torch
import torch.nn as nn

from .errors import TrainError

ENCODER = (64, 128, 256, 512)
LOW_DIM, HIGH_DIM = 128, 256  # the embeddings (FC128, FC256)
LOW_UP, HIGH_UP = 1024, 2048  # back towards the decoder (FC1024, FC2048)
GRID = 4  # embeddings are taken from maps pooled to 4x4; the decoder starts from a 4x4 grid


def check_size(size):
    k = math.log2(size / GRID) if size > 0 else -1
    if size < 64 or k != int(k):
        raise TrainError(f"--size {size}: the multi-level autoencoder needs 4 * 2^k pixels (64, 128, 256)")


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        chans = (3,) + ENCODER
        # ConvDown: 3x3 conv, stride 2, ReLU.
        self.down = nn.ModuleList(
            nn.Sequential(nn.Conv2d(chans[i], chans[i + 1], 3, stride=2, padding=1), nn.ReLU()) for i in range(4)
        )

    def forward(self, x):
        levels = []
        for block in self.down:
            x = block(x)
            levels.append(x)
        return levels


class MultiLevelAE(nn.Module):
    def __init__(self, size):
        super().__init__()
        check_size(size)
        self.encoder = Encoder()
        low_hw, high_hw = size // 4, size // 16  # e2 (stride 4) and e4 (stride 16)
        self.pool_low = nn.AvgPool2d(low_hw // GRID)
        self.pool_high = nn.AvgPool2d(max(high_hw // GRID, 1))
        high_grid = min(GRID, high_hw)
        self.fc_low = nn.Linear(ENCODER[1] * GRID * GRID, LOW_DIM)
        self.fc_high = nn.Linear(ENCODER[3] * high_grid * high_grid, HIGH_DIM)
        self.up_low = nn.Sequential(nn.Linear(LOW_DIM, LOW_UP), nn.ReLU())
        self.up_high = nn.Sequential(nn.Linear(HIGH_DIM, HIGH_UP), nn.ReLU())
        start = (LOW_UP + HIGH_UP) // (GRID * GRID)
        steps = int(math.log2(size // GRID))
        widths = [max(512 >> i, 16) for i in range(1, steps)] + [3]
        ups, prev = [], start
        for i, w in enumerate(widths):
            # ConvUp: 3x3 transposed conv, stride 2, ReLU (none on the last: the image is normalized, signed).
            ups.append(nn.ConvTranspose2d(prev, w, 3, stride=2, padding=1, output_padding=1))
            if i + 1 < len(widths):
                ups.append(nn.ReLU())
            prev = w
        self.decoder = nn.Sequential(*ups)
        self.start = start

    def embed(self, levels):
        low = self.fc_low(self.pool_low(levels[1]).flatten(1))
        high = self.fc_high(self.pool_high(levels[3]).flatten(1))
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
