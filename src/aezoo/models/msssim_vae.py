"""msssim-vae: a conv VAE trained on a perceptual reconstruction loss (Snell et al. 2017, "Learning to generate
images with perceptual similarity metrics"): 1 - MS-SSIM(x, x_hat) + beta KL(q(z|x) || N(0, I)) per image, x_hat
the decoded mean image of one posterior draw.

MS-SSIM (Wang, Simoncelli & Bovik 2003) compares local means, variances and covariances in a Gaussian window
(sigma 1.5, constants (0.01)^2 and (0.03)^2 for pixel values in [0, 1]) at ``scales`` scales, each half the size
of the one before (2x2 average pooling): prod_{j < M} cs_j^{w_j} x ssim_M^{w_M}, with cs (contrast-structure)
and ssim per image averaged over the valid window positions (no padding), clamped at 0 before the powers, and the
weights the first M of Wang's five (0.0448, 0.2856, 0.3001, 0.2363, 0.1333) renormalised to sum to 1.

What MS-SSIM means at 8x8: Wang's five scales with an 11x11 window need images of at least 176 pixels a side.
On the default digits the defaults, 2 scales and a 3x3 window, compare the 8x8 image (36 window positions) and
its 4x4 half (4 positions) with weights (0.1356, 0.8644); a third scale would be 2x2, smaller than the window, so
the build refuses it. (pythae pads with zeros instead, so that any window fits any size: at 8x8 it takes 3 scales
whose windows are mostly padding, and below 4 pixels a side its MS-SSIM is 1 for every pair.) On 28x28 images up
to 4 scales fit a 3x3 window (28, 14, 7, 3 pixels). With 1 scale it is plain SSIM.

MS-SSIM is a similarity, not a normalised density of the pixels, so the model has no likelihood bound: ``zoo
eval`` reports its KL, its test ``ms_ssim`` and the pixel errors, and -ELBO and IW-NLL as not applicable."""
from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F

from aezoo.core.autoencoder import AutoEncoder
from aezoo.core.checks import ms_ssim_scales, odd_window, weight
from aezoo.core.interfaces import Batch, Objective, Step
from aezoo.core.objectives import kl_to_prior
from aezoo.models.assemble import assemble

WANG_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)  # Wang et al. 2003, finest scale first
SIGMA, C1, C2 = 1.5, 0.01 ** 2, 0.03 ** 2  # SSIM's window and constants for pixel values in [0, 1]
CLAMP = 1e-8  # cs and ssim are clamped here before fractional powers (a negative base has none)
NOT_A_LIKELIHOOD = ("the model is trained on MS-SSIM, a similarity, not a normalised likelihood of the pixels: "
                    "a pixel -log p(x|z), -ELBO or IW-NLL would score a likelihood it never fitted")


def scale_weights(scales: int) -> tuple[float, ...]:
    """The first ``scales`` of Wang's weights, renormalised to sum to 1."""
    head = WANG_WEIGHTS[:scales]
    return tuple(w / sum(head) for w in head)


def check_fits(input_shape: tuple[int, int, int], scales: int, window: int) -> None:
    """The coarsest scale must still hold one ``window``."""
    smallest = min(input_shape[1:]) // 2 ** (scales - 1)
    if smallest < window:
        h, w = input_shape[1:]
        fits = max((m for m in range(1, len(WANG_WEIGHTS) + 1) if min(h, w) // 2 ** (m - 1) >= window), default=0)
        hint = f"use scales={fits} or fewer" if fits else "use a smaller window"
        raise ValueError(f"input {h}x{w} is too small for {scales} MS-SSIM scales with a {window}x{window} window "
                         f"(the coarsest scale would be {smallest} pixels a side); {hint}")


def gaussian_window(size: int, sigma: float = SIGMA) -> torch.Tensor:
    """A normalised 2-D Gaussian window (size, size)."""
    taps = torch.exp(-(torch.arange(size, dtype=torch.float64) - size // 2) ** 2 / (2 * sigma ** 2))
    taps = taps / taps.sum()
    return torch.outer(taps, taps)


def ssim_terms(a: torch.Tensor, b: torch.Tensor, window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: SSIM and the contrast-structure term cs, each averaged over channels and valid window positions."""
    channels = a.shape[1]
    kernel = window.to(a.dtype).expand(channels, 1, *window.shape)
    blur = lambda t: F.conv2d(t, kernel, groups=channels)  # noqa: E731  valid: no padding
    mu_a, mu_b = blur(a), blur(b)
    var_a, var_b, cov = blur(a * a) - mu_a ** 2, blur(b * b) - mu_b ** 2, blur(a * b) - mu_a * mu_b
    cs = (2 * cov + C2) / (var_a + var_b + C2)
    luminance = (2 * mu_a * mu_b + C1) / (mu_a ** 2 + mu_b ** 2 + C1)
    return (luminance * cs).flatten(1).mean(1), cs.flatten(1).mean(1)


def ms_ssim(a: torch.Tensor, b: torch.Tensor, scales: int = 2, window: int = 3) -> torch.Tensor:
    """MS-SSIM of each pair of images (N, C, H, W) with pixel values in [0, 1]: (N,), 1 for identical images.
    Computed in at least float32 whatever the autocast: the window variances are differences of near-equal
    moments, which bfloat16 would round away."""
    dtype = torch.promote_types(a.dtype, torch.float32)
    with torch.autocast(a.device.type, enabled=False):
        a, b = a.to(dtype), b.to(dtype)
        kernel, value = gaussian_window(window), a.new_ones(len(a))
        for j, w in enumerate(scale_weights(scales)):
            ssim, cs = ssim_terms(a, b, kernel)
            last = j == scales - 1
            value = value * (ssim if last else cs).clamp_min(CLAMP) ** w
            if not last:
                a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
    return value


class MSSSIMLoss(Objective):
    """1 - MS-SSIM(x, x_hat) + ``beta`` KL per image, x_hat the decoded mean image of one posterior draw."""

    likelihood_unused = NOT_A_LIKELIHOOD

    def __init__(self, beta: float = 0.01, scales: int = 2, window: int = 3):
        super().__init__()
        self.beta = weight("beta", beta)
        self.scales, self.window = ms_ssim_scales("scales", scales), odd_window("window", window)

    def forward(self, model: AutoEncoder, batch: Batch, step: Step) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = model(batch.inputs)
        dissimilarity = 1 - ms_ssim(batch.x, model.likelihood.mean(out.logits), self.scales, self.window).mean()
        kl = kl_to_prior(out.q, model.prior, out.z).mean()
        return dissimilarity + self.beta * kl, {"dissimilarity": dissimilarity, "kl": kl}

    def eval_metrics(self, model: AutoEncoder, x: torch.Tensor, q: Any) -> dict[str, torch.Tensor]:
        """``ms_ssim``: MS-SSIM (the training's settings) of each image and its reconstruction from the posterior
        mean, averaged; 1 is a perfect reconstruction."""
        return {"ms_ssim": ms_ssim(x, model.decode(q.mean), self.scales, self.window).mean()}


def build(input_shape: tuple[int, int, int], *, latent_dim: int, channels: Sequence[int], beta: float, scales: int,
          window: int) -> AutoEncoder:
    check_fits(input_shape, ms_ssim_scales("scales", scales), odd_window("window", window))
    return assemble(input_shape, latent_dim, channels=channels, posterior="gaussian",
                    objective=MSSSIMLoss(beta, scales, window))
