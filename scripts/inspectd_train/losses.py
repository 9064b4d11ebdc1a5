"""Losses and regularizers of the autoencoder recipes (S004 hybrid, S000 multi-level)."""

import torch
import torch.nn.functional as F


def gaussian_window(size=11, sigma=1.5, device=None):
    g = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2
    g = torch.exp(-(g**2) / (2 * sigma**2))
    g = g / g.sum()
    return g[:, None] * g[None, :]


def ssim(a, b, window=11, sigma=1.5, c1=0.01**2, c2=0.03**2):
    """Mean SSIM (Wang et al. 2004, Gaussian window) per image; a, b in [0,1], [N,C,H,W] -> [N]."""
    c = a.shape[1]
    w = gaussian_window(window, sigma, a.device).expand(c, 1, window, window).contiguous()
    pad = window // 2

    def blur(t):
        return F.conv2d(F.pad(t, [pad] * 4, mode="reflect"), w, groups=c)

    mu_a, mu_b = blur(a), blur(b)
    var_a = blur(a * a) - mu_a**2
    var_b = blur(b * b) - mu_b**2
    cov = blur(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    return s.flatten(1).mean(1)


def reconstruction_distance(recon, x, kind, denormalize):
    """S004's L2 as a training loss: 'l2' = mean squared error, 'ssim' = 1 - SSIM (on [0,1] images)."""
    if kind == "l2":
        return F.mse_loss(recon, x)
    if kind == "ssim":
        return (1 - ssim(denormalize(recon).clamp(0, 1), denormalize(x).clamp(0, 1))).mean()
    raise ValueError(f"unknown reconstruction distance {kind!r}")


def center_distance(z, center):
    """S004's L1 as a loss: mean squared distance of each feature map to the center (per element, so the
    weight does not depend on the latent size)."""
    return (z - center).pow(2).mean()


def jacobian_frobenius_sq(fn, at, probes=1):
    """Hutchinson estimate of ||J_fn(at)||_F^2 / outputs: E_v ||J^T v||^2 = ||J||_F^2 for v ~ N(0, I).
    One vector-Jacobian product per probe, with a graph so the estimate can be minimized."""
    at = at.detach().requires_grad_(True)
    y = fn(at)
    total = 0.0
    for _ in range(probes):
        v = torch.randn_like(y)
        (g,) = torch.autograd.grad(y, at, v, create_graph=True)
        total = total + g.pow(2).sum()
    return total / (probes * y.numel())


SPECTRAL_TYPES = (torch.nn.Conv2d, torch.nn.ConvTranspose2d, torch.nn.Linear)


def apply_spectral_norm(module, n_power_iterations=1):
    """Spectral normalization of every conv/linear weight in `module` (W / sigma_max(W), power iteration)."""
    from torch.nn.utils.parametrizations import spectral_norm

    count = 0
    for m in list(module.modules()):
        if isinstance(m, SPECTRAL_TYPES):
            spectral_norm(m, n_power_iterations=n_power_iterations)
            count += 1
    return count


def bake_spectral_norm(module):
    """Replace each parametrized weight by its normalized value (plain tensors for export)."""
    from torch.nn.utils import parametrize

    for m in list(module.modules()):
        if parametrize.is_parametrized(m, "weight"):
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=True)


def largest_singular_values(module):
    """sigma_max of each conv/linear weight as a matrix (the quantity spectral normalization divides by).
    ConvTranspose weights are [in, out, k, k]: the output dimension is the second one, as torch's
    spectral_norm treats them."""
    out = []
    for m in module.modules():
        if isinstance(m, SPECTRAL_TYPES):
            w = m.weight.detach()
            if isinstance(m, torch.nn.ConvTranspose2d):
                w = w.transpose(0, 1)
            out.append(torch.linalg.matrix_norm(w.reshape(w.shape[0], -1), ord=2).item())
    return out


def discriminator_loss(d, real, fake):
    """Standard GAN discriminator loss: prior samples are 'real', encoder embeddings 'fake'."""
    lr, lf = d(real), d(fake.detach())
    return F.binary_cross_entropy_with_logits(lr, torch.ones_like(lr)) + F.binary_cross_entropy_with_logits(
        lf, torch.zeros_like(lf)
    )


def generator_loss(d, fake):
    """The encoder's side: make the discriminator call its embeddings 'real' (non-saturating form)."""
    lf = d(fake)
    return F.binary_cross_entropy_with_logits(lf, torch.ones_like(lf))


# ---- S002 fusion (journal paper, eq. 4-7) ------------------------------------------------------------------


def _split_mean(values, normal, anomalous):
    """Means of `values` over the normal and the anomalous positions (0 where there are none, so a batch
    without pseudo-anomalies adds nothing to the push terms)."""
    n = normal.sum().clamp_min(1)
    a = anomalous.sum().clamp_min(1)
    return (values * normal).sum() / n, (values * anomalous).sum() / a


def hypersphere_loss(a, normal, anomalous):
    """Eq. 4: normal positions pulled to the centre (A), anomalous pushed out (-log(1 - exp(-A))); the two
    classes weighted equally, as pseudo-anomalies cover far fewer positions than good surface."""
    pull, _ = _split_mean(a, normal, anomalous)
    # -log(1 - exp(-A)) without cancellation; A is clamped off 0, where it is infinite.
    _, push = _split_mean(-torch.log(-torch.expm1(-a.clamp_min(1e-4))), normal, anomalous)
    return pull + push


def score_hinge_loss(s, normal, anomalous, gamma=2.5, margin=5.0):
    """Eq. 5: normal scores below gamma; anomalous scores above the mean normal score by at least `margin`."""
    low = F.relu(s - gamma)
    low_mean, _ = _split_mean(low, normal, anomalous)
    mean_normal = (s * normal).sum() / normal.sum().clamp_min(1)
    _, high = _split_mean(F.relu(margin - (s - mean_normal)), normal, anomalous)
    return low_mean + high


def consistency_loss(psi, s, normal, samples, gen):
    """Eq. 6-7: on `samples` normal positions, KL between the rows of softmax(-pairwise feature distance) and
    of softmax(-pairwise score distance): positions close in feature space must be close in score."""
    feats = psi.permute(0, 2, 3, 1).reshape(-1, psi.shape[1])
    scores = s.reshape(-1, 1)
    idx = torch.nonzero(normal.reshape(-1) > 0).squeeze(1)
    if idx.numel() < 2:
        return psi.sum() * 0
    pick = idx[torch.randperm(idx.numel(), generator=gen)[:samples].to(idx.device)]
    f, v = feats[pick], scores[pick]
    p = F.log_softmax(-torch.cdist(f, f), dim=1)
    q = F.log_softmax(-torch.cdist(v, v), dim=1)
    return F.kl_div(q, p, log_target=True, reduction="batchmean")
