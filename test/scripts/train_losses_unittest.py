"""Unit tests of the autoencoder recipes' losses (scripts/inspectd_train/losses.py); run by
test/scripts/trainLosses.test.ts with /usr/bin/python3 -m unittest."""

import os
import sys
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))

from inspectd_train import losses  # noqa: E402
from inspectd_train.hybrid import FeatureLevels, Psi  # noqa: E402
from inspectd_train.multilevel import MultiLevelAE, discriminator  # noqa: E402


class SpectralNormalization(unittest.TestCase):
    def test_every_layer_of_psi_ends_near_unit_largest_singular_value(self):
        torch.manual_seed(0)
        psi = Psi(8)
        before = losses.largest_singular_values(psi)
        # Default inits are far from 1: the check below could not pass without the normalization.
        self.assertTrue(any(abs(s - 1) > 0.2 for s in before), before)
        self.assertEqual(losses.apply_spectral_norm(psi), 6)
        psi.train()
        with torch.no_grad():
            for _ in range(30):  # each forward in train mode runs one power iteration
                psi(torch.randn(2, 8, 4, 4))
        losses.bake_spectral_norm(psi)
        after = losses.largest_singular_values(psi)
        self.assertEqual(len(after), 6)
        for s in after:
            self.assertAlmostEqual(s, 1.0, delta=0.02)

    def test_transposed_convolutions_and_linears_are_normalized_too(self):
        torch.manual_seed(1)
        net = torch.nn.Sequential(torch.nn.ConvTranspose2d(4, 6, 3, stride=2), torch.nn.Linear(5, 7))
        losses.apply_spectral_norm(net)
        net.train()
        for _ in range(40):
            net[0](torch.randn(1, 4, 3, 3))
            net[1](torch.randn(1, 5))
        losses.bake_spectral_norm(net)
        for s in losses.largest_singular_values(net):
            self.assertAlmostEqual(s, 1.0, delta=0.02)


class JacobianPenalty(unittest.TestCase):
    def test_matches_the_exact_frobenius_norm_of_a_linear_map(self):
        torch.manual_seed(2)
        lin = torch.nn.Linear(6, 4, bias=False)
        at = torch.randn(1, 6)
        est = torch.stack([losses.jacobian_frobenius_sq(lin, at, probes=64) for _ in range(20)]).mean()
        exact = lin.weight.pow(2).sum() / 4  # J = W; divided by the number of outputs
        self.assertAlmostEqual(est.item(), exact.item(), delta=0.1 * exact.item())

    def test_decreases_when_trained_alone(self):
        torch.manual_seed(3)
        psi = Psi(8)
        center = torch.randn(1, 8, 2, 2)
        opt = torch.optim.Adam(psi.parameters(), lr=1e-3)

        def measure():
            return torch.stack([losses.jacobian_frobenius_sq(psi, center, probes=4) for _ in range(5)]).mean().item()

        start = measure()
        for _ in range(40):
            opt.zero_grad()
            losses.jacobian_frobenius_sq(psi, center).backward()
            opt.step()
        end = measure()
        self.assertGreater(start, 0)
        self.assertLess(end, 0.5 * start, (start, end))


class Distances(unittest.TestCase):
    def test_ssim_is_one_for_identical_images_and_drops_with_noise(self):
        torch.manual_seed(4)
        x = torch.rand(2, 3, 32, 32)
        self.assertTrue(torch.allclose(losses.ssim(x, x), torch.ones(2), atol=1e-5))
        noisy = (x + 0.3 * torch.randn_like(x)).clamp(0, 1)
        s = losses.ssim(x, noisy)
        self.assertTrue(bool((s < 0.9).all()), s)
        self.assertEqual(losses.reconstruction_distance(x, x, "ssim", lambda t: t).item(), 0.0)

    def test_l2_distance_and_center_distance(self):
        x = torch.zeros(1, 3, 4, 4)
        y = torch.full((1, 3, 4, 4), 2.0)
        self.assertEqual(losses.reconstruction_distance(y, x, "l2", None).item(), 4.0)
        self.assertEqual(losses.center_distance(y, x).item(), 4.0)
        with self.assertRaises(ValueError):
            losses.reconstruction_distance(y, x, "l3", None)


class Adversarial(unittest.TestCase):
    def test_discriminator_learns_to_tell_shifted_embeddings_from_the_prior(self):
        torch.manual_seed(5)
        d = discriminator(16, hidden=32)
        opt = torch.optim.Adam(d.parameters(), lr=1e-2)
        fake = torch.randn(64, 16) + 3.0
        first = losses.discriminator_loss(d, torch.randn(64, 16), fake).item()
        for _ in range(60):
            opt.zero_grad()
            losses.discriminator_loss(d, torch.randn(64, 16), fake).backward()
            opt.step()
        last = losses.discriminator_loss(d, torch.randn(64, 16), fake).item()
        self.assertLess(last, 0.2 * first)
        # ...and then the generator loss on those embeddings is high (they are easy to call fake).
        self.assertGreater(losses.generator_loss(d, fake).item(), 2.0)

    def test_discriminator_loss_does_not_reach_the_encoder(self):
        d = discriminator(4, hidden=8)
        z = torch.randn(3, 4, requires_grad=True)
        losses.discriminator_loss(d, torch.randn(3, 4), z).backward()
        self.assertIsNone(z.grad)


class MultiLevelShapes(unittest.TestCase):
    def test_levels_embeddings_and_reconstruction(self):
        net = MultiLevelAE(64)
        low, high, recon, levels = net(torch.randn(2, 3, 64, 64))
        self.assertEqual(tuple(low.shape), (2, 128))
        self.assertEqual(tuple(high.shape), (2, 256))
        self.assertEqual(tuple(recon.shape), (2, 3, 64, 64))
        self.assertEqual([tuple(e.shape[1:]) for e in levels], [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4)])


    def test_on_features_levels_and_reconstruction_on_the_grid(self):
        net = MultiLevelAE(32, 128)
        low, high, recon, levels = net(torch.randn(2, 128, 32, 32))
        self.assertEqual((tuple(low.shape), tuple(high.shape)), ((2, 128), (2, 256)))
        self.assertEqual(tuple(recon.shape), (2, 128, 32, 32))
        self.assertEqual([tuple(e.shape[1:]) for e in levels], [(64, 16, 16), (128, 8, 8), (256, 4, 4)])


class FeatureStandardization(unittest.TestCase):
    """F's statistics per channel, with the mean per position, or both per position (--standardize)."""

    def standardized(self, per_position):
        torch.manual_seed(0)
        levels = FeatureLevels((4, 4), per_position)
        # Images whose top half is brighter: a look that varies with position.
        x = torch.randn(12, 3, 32, 32)
        x[:, :, :16] += 2
        return levels.fit_statistics(x)

    def test_channel_statistics_leave_the_positions_apart(self):
        f = self.standardized("none")
        self.assertLess(f.mean((0, 2, 3)).abs().max().item(), 1e-4)
        self.assertGreater((f[:, :, :1].mean((0, 2, 3)) - f[:, :, 3:].mean((0, 2, 3))).abs().max().item(), 0.5)

    def test_position_mean_centres_every_position_and_keeps_one_spread_per_channel(self):
        f = self.standardized("mean")
        self.assertLess(f.mean(0).abs().max().item(), 1e-4)
        spread = f.pow(2).mean((0, 2, 3))
        # A randomly initialized backbone has dead (near constant) channels: those stay near 0.
        self.assertGreaterEqual(int((spread > 0.5).sum()), 16)
        self.assertLess((spread[spread > 0.5] - 1).abs().max().item(), 1e-3)
        self.assertGreater(f.std(0).std((1, 2)).max().item(), 0.05)  # spreads still differ by position

    def test_both_per_position_gives_unit_spread_at_every_position(self):
        f = self.standardized("both")
        self.assertLess(f.mean(0).abs().max().item(), 1e-4)
        spread = f.pow(2).mean(0)
        self.assertGreaterEqual(int((spread > 0.5).sum()), 16 * 16)
        self.assertLess((spread[spread > 0.5] - 1).abs().max().item(), 1e-3)


if __name__ == "__main__":
    unittest.main()
