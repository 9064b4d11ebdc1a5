"""Unit tests of the trained feature recipes' parts: the pseudo-anomalies (scripts/inspectd_train/synthetic.py),
the S002 losses (losses.py) and network (fusion.py), S003's jigsaw and MFCSAM (jigsaw.py); run by
test/scripts/trainLosses.test.ts."""

import os
import sys
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))

from inspectd_train import data, losses, synthetic  # noqa: E402
from inspectd_train.fusion import FusionExport, FusionNet, hypersphere  # noqa: E402
from inspectd_train.jigsaw import MFCSAM, JigsawBackbone, PositionAttention, permutations, shuffle_tiles  # noqa: E402


def surface(seed, h=64, w=96):
    """A smooth, textured image in [0,1] (a plain one would hide cut-and-paste)."""
    g = torch.Generator().manual_seed(seed)
    base = torch.rand(3, h // 8, w // 8, generator=g)
    img = torch.nn.functional.interpolate(base[None], size=(h, w), mode="bilinear", align_corners=False)[0]
    return (0.2 + 0.6 * img).clamp(0, 1)


class SyntheticDefects(unittest.TestCase):
    def test_every_kind_changes_the_image_only_under_its_non_empty_mask(self):
        img, other = surface(1), surface(2)
        for kind in synthetic.KINDS:
            with self.subTest(kind=kind):
                out, mask = synthetic.synthesize(img, other, kind, torch.Generator().manual_seed(5))
                self.assertEqual(tuple(out.shape), (3, 64, 96))
                self.assertEqual(tuple(mask.shape), (64, 96))
                self.assertGreater(mask.sum().item(), 4)
                self.assertLess(mask.mean().item(), 0.5)
                changed = (out - img).abs().amax(0) > 1e-6
                self.assertFalse((changed & (mask == 0)).any().item(), "a pixel outside the mask changed")
                # Visible: at least 8 levels of change per footprint pixel on average.
                self.assertGreater(((out - img).abs().mean(0) * mask).sum().item() / mask.sum().item(), 8 / 255 - 1e-6)
                self.assertTrue(((out >= 0) & (out <= 1)).all().item())

    def test_same_seed_same_defect_other_seed_other_defect(self):
        img, other = surface(3), surface(4)
        a = synthetic.synthesize(img, other, "texture", torch.Generator().manual_seed(9))
        b = synthetic.synthesize(img, other, "texture", torch.Generator().manual_seed(9))
        c = synthetic.synthesize(img, other, "texture", torch.Generator().manual_seed(10))
        self.assertTrue(torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]))
        self.assertFalse(torch.equal(a[1], c[1]))

    def test_a_batch_gets_defects_on_the_asked_fraction_only(self):
        x = torch.stack([surface(s) for s in range(8)])
        out, masks = synthetic.pseudo_batch(x, ["cutpaste", "confetti"], 0.5, torch.Generator().manual_seed(0))
        has = masks.flatten(1).amax(1) > 0
        self.assertEqual(has.tolist(), [True] * 4 + [False] * 4)
        self.assertTrue(torch.equal(out[4:], x[4:]))

    def test_unknown_kind_is_named(self):
        with self.assertRaisesRegex(ValueError, "unknown synthetic defect kind 'rust'"):
            synthetic.synthesize(surface(0), surface(1), "rust", torch.Generator())


class HoldoutSplit(unittest.TestCase):
    def test_the_same_split_as_inspectd_fit(self):
        # src/fit/fitCommon.ts splitHoldout on 10 names at 0.2 holds out the 5th and 10th; at 0.25 the 4th, 8th.
        names = [f"{i:03d}.png" for i in range(10)]
        self.assertEqual(data.split_holdout(names, 0.2)[1], ["004.png", "009.png"])
        self.assertEqual(data.split_holdout(names, 0.25)[1], ["003.png", "007.png"])
        kept, held = data.split_holdout(names, 0.2)
        self.assertEqual(sorted(kept + held), names)


class FusionLosses(unittest.TestCase):
    def setUp(self):
        self.normal = torch.zeros(1, 1, 4, 4)
        self.normal[..., :2, :] = 1
        self.anomalous = 1 - self.normal

    def test_hypersphere_pulls_normal_and_pushes_anomalous(self):
        a = torch.full((1, 1, 4, 4), 0.5)
        expected = 0.5 - torch.log(1 - torch.exp(torch.tensor(-0.5)))
        self.assertAlmostEqual(losses.hypersphere_loss(a, self.normal, self.anomalous).item(), expected.item(), 5)
        # Without anomalous positions only the pull is left.
        self.assertAlmostEqual(losses.hypersphere_loss(a, torch.ones_like(a), torch.zeros_like(a)).item(), 0.5, 6)
        # Far anomalies cost almost nothing; near ones a lot.
        far = torch.where(self.anomalous > 0, torch.tensor(20.0), torch.tensor(0.0))
        near = torch.where(self.anomalous > 0, torch.tensor(0.01), torch.tensor(0.0))
        self.assertLess(losses.hypersphere_loss(far, self.normal, self.anomalous).item(), 1e-6)
        self.assertGreater(losses.hypersphere_loss(near, self.normal, self.anomalous).item(), 4)

    def test_score_hinge_is_zero_only_when_both_constraints_hold(self):
        ok = torch.where(self.anomalous > 0, torch.tensor(7.0), torch.tensor(1.0))  # normal < 2.5, gap 6 > 5
        self.assertEqual(losses.score_hinge_loss(ok, self.normal, self.anomalous).item(), 0.0)
        high = torch.where(self.anomalous > 0, torch.tensor(9.0), torch.tensor(3.0))  # normal above gamma by 0.5
        self.assertAlmostEqual(losses.score_hinge_loss(high, self.normal, self.anomalous).item(), 0.5, 6)
        close = torch.where(self.anomalous > 0, torch.tensor(4.0), torch.tensor(1.0))  # gap 3: 2 short
        self.assertAlmostEqual(losses.score_hinge_loss(close, self.normal, self.anomalous).item(), 2.0, 6)

    def test_consistency_is_zero_when_scores_keep_feature_distances_and_positive_otherwise(self):
        g = torch.Generator().manual_seed(0)
        s = torch.randn(1, 1, 4, 4, generator=g)
        everywhere = torch.ones(1, 1, 4, 4)
        same = losses.consistency_loss(s, s, everywhere, 16, torch.Generator().manual_seed(1))
        self.assertAlmostEqual(same.item(), 0.0, 6)
        shuffled = s.flatten()[torch.randperm(16, generator=g)].view(1, 1, 4, 4)
        other = losses.consistency_loss(s, shuffled, everywhere, 16, torch.Generator().manual_seed(1))
        self.assertGreater(other.item(), 0.05)


class FusionShapes(unittest.TestCase):
    def test_two_maps_on_the_stride_8_grid_and_a_non_negative_distance(self):
        torch.manual_seed(0)
        net = FusionExport(FusionNet(16)).eval()
        with torch.no_grad():
            score, dist = net(torch.randn(2, 3, 64, 96))
        self.assertEqual(tuple(score.shape), (2, 1, 8, 12))
        self.assertEqual(tuple(dist.shape), (2, 1, 8, 12))
        self.assertTrue((dist >= 0).all().item())
        self.assertAlmostEqual(hypersphere(torch.zeros(1, 5, 1, 1)).item(), 0.0, 7)



class Jigsaw(unittest.TestCase):
    def test_permutations_start_with_the_identity_are_distinct_and_far_apart(self):
        perms = permutations(24, 3, seed=0)
        self.assertEqual(len(perms), 24)
        self.assertEqual(perms[0], tuple(range(9)))
        self.assertEqual(len(set(perms)), 24)
        for p in perms:
            self.assertEqual(sorted(p), list(range(9)))
        # Greedy max-min Hamming selection: every pair differs in most of the 9 places.
        closest = min(sum(a != b for a, b in zip(p, q)) for i, p in enumerate(perms) for q in perms[:i])
        self.assertGreaterEqual(closest, 6)
        self.assertEqual(perms, permutations(24, 3, seed=0))

    def test_shuffle_puts_input_tile_perm_i_at_place_i(self):
        x = torch.arange(9, dtype=torch.float32).view(1, 3, 3).repeat_interleave(4, 1).repeat_interleave(4, 2)
        x = x.expand(3, 12, 12)
        perm = (8, 7, 6, 5, 4, 3, 2, 1, 0)
        out = shuffle_tiles(x, perm, 3)
        self.assertEqual(out[0, ::4, ::4].flatten().tolist(), [8, 7, 6, 5, 4, 3, 2, 1, 0])
        self.assertTrue(torch.equal(shuffle_tiles(x, tuple(range(9)), 3), x))

    def test_position_attention_starts_as_the_identity_and_mfcsam_keeps_the_shape(self):
        torch.manual_seed(0)
        x = torch.randn(2, 24, 10, 12)
        self.assertTrue(torch.equal(PositionAttention(24, kv_pool=2)(x), x))
        self.assertEqual(tuple(MFCSAM(24, kv_pool=2)(x).shape), (2, 24, 10, 12))
        s4, s8, s16, y = JigsawBackbone().eval()(torch.randn(1, 3, 96, 96))
        self.assertEqual([tuple(t.shape) for t in (s4, s8, s16, y)],
                         [(1, 24, 24, 24), (1, 32, 12, 12), (1, 96, 6, 6), (1, 152, 12, 12)])


if __name__ == "__main__":
    unittest.main()
