"""What each saved metric means, its unit and group, and how to show it: shared by `zoo report` and `zoo compare`.

A metric a model does not have is shown as ``n/a: reason`` (from the run's ``test_not_applicable``), never as 0.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping


@dataclass(frozen=True)
class Metric:
    key: str  # key in metrics.json
    group: str
    label: str
    unit: str
    meaning: str
    digits: int = 2  # decimals shown


METRICS = (
    Metric("test_neg_elbo", "Likelihood (test)", "negative ELBO", "nats/image",
           "reconstruction -log p(x|z) + KL: an upper bound on -log p(x); lower is better"),
    Metric("test_iw_nll", "Likelihood (test)", "IW-NLL", "nats/image",
           "importance-weighted bound on -log p(x), tighter than the ELBO; lower is better"),
    Metric("test_kl", "Likelihood (test)", "KL(q(z|x) || p(z))", "nats/image",
           "how far codes are from the prior: the rate paid for the code"),
    Metric("test_iw_samples", "Likelihood (test)", "IW samples (K)", "per image",
           "importance samples behind IW-NLL (papers use 5000)", 0),
    Metric("test_elbo_samples", "Likelihood (test)", "ELBO samples", "per image",
           "posterior draws averaged in the negative ELBO", 0),
    Metric("test_conditioned_on", "Likelihood (test)", "conditioned on", "",
           "a conditional model's likelihood numbers are given the label: bounds on -log p(x|y), not -log p(x)"),
    Metric("test_binarize", "Likelihood (test)", "binarised test pixels", "",
           "0/1 test pixels for a Bernoulli likelihood: dynamic (drawn per evaluation, seeded), static (drawn once, "
           "fixed seed) or none (grey levels); numbers are comparable only alike"),
    Metric("test_rec_nll", "Reconstruction (test)", "reconstruction NLL", "nats/image",
           "-log p(x|z) at the posterior mean under the model's likelihood; lower is better"),
    Metric("test_bce", "Reconstruction (test)", "binary cross-entropy", "nats/image",
           "summed over pixels; lower is better"),
    Metric("test_mse", "Reconstruction (test)", "squared error", "per image",
           "summed over pixels (values in [0, 1]); lower is better"),
    Metric("test_psnr", "Reconstruction (test)", "PSNR", "dB", "peak signal-to-noise ratio; higher is better"),
    Metric("test_ms_ssim", "Reconstruction (test)", "MS-SSIM", "",
           "multi-scale structural similarity of images and reconstructions (the training's scales and window); "
           "1 is perfect", 4),
    Metric("test_feature_reconstruction", "Reconstruction (test)", "feature reconstruction", "",
           "half the squared distance between the discriminator's features of images and of their reconstructions; "
           "lower is better", 2),
    Metric("test_active_units", "Latent space (test)", "active units", "dims",
           "latent dimensions whose code varies across images (variance > 0.01)", 0),
    Metric("test_probe_accuracy", "Latent space (test)", "linear probe accuracy", "fraction",
           "a logistic regression on the codes predicts the label; higher means classes are separable", 3),
    Metric("test_compression_ratio", "Latent space (test)", "compression ratio", "x",
           "bits of a uint8 image / bits of its code", 1),
    Metric("test_perplexity", "Latent space (test)", "codebook perplexity", "codes",
           "effective number of codebook entries in use", 1),
    Metric("test_mmd", "Latent space (test)", "MMD to the prior", "",
           "maximum mean discrepancy between codes and prior draws; lower is closer", 4),
    Metric("test_sliced_wasserstein", "Latent space (test)", "sliced Wasserstein to the prior", "",
           "SW_2^2 between codes and as many prior draws, over 1000 random directions; lower is closer", 4),
    Metric("class_consistency.mean", "Generation (test)", "class consistency", "fraction",
           "images generated for a class that a pixel classifier assigns to it, mean over classes", 3),
    Metric("val_loss", "Training", "validation loss", "nats/image", "the training objective on held-out data", 2),
    Metric("binarize", "Training", "binarised training pixels", "",
           "dynamic (each image drawn as 0/1 pixels whenever seen), static (drawn once, fixed seed) or none"),
    Metric("best_epoch", "Training", "best epoch", "",
           "epoch whose weights were kept (lowest validation loss; the last where the objective says epochs' losses "
           "are not comparable)", 0),
    Metric("epochs_trained", "Training", "epochs trained", "", "", 0),
    Metric("train_seconds", "Training", "training time", "s", "wall-clock time of training", 1),
    Metric("images_per_second", "Training", "throughput", "images/s", "training images processed per second", 0),
)
BY_KEY = {m.key: m for m in METRICS}
GROUPS = tuple(dict.fromkeys(m.group for m in METRICS))


def lookup(metrics: Mapping[str, Any], key: str) -> Any:
    """``metrics[key]``, following dots into nested dicts (``class_consistency.mean``); None when absent."""
    value: Any = metrics
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return value


def not_applicable(metrics: Mapping[str, Any], key: str) -> str | None:
    """Why ``key`` is absent for this run (from ``test_not_applicable``), or None."""
    reasons = metrics.get("test_not_applicable") or {}
    return reasons.get(key[5:] if key.startswith("test_") else key) if isinstance(reasons, Mapping) else None


def cell(metrics: Mapping[str, Any], metric: Metric) -> str:
    """The text shown for one metric of one run: a rounded number, ``n/a: reason`` or ``not measured``."""
    value = lookup(metrics, metric.key)
    if isinstance(value, bool) or value is None:
        reason = not_applicable(metrics, metric.key)
        return f"n/a: {reason}" if reason else "not measured"
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.{metric.digits}f}"
    return str(value)


LEVEL_KL = re.compile(r"test_kl_level([0-9]+)")  # a hierarchical model's KL per level


def level_metrics(metrics: Mapping[str, Any]) -> list[Metric]:
    """A hierarchical model's per-level KL (``test_kl_level1``, ...), in level order."""
    found = sorted((int(match[1]), key) for key in metrics if (match := LEVEL_KL.fullmatch(key)))
    return [Metric(key, "Likelihood (test)", f"KL, level {n}", "nats/image",
                   f"KL of level {n}'s posterior to its prior given the levels above (level 1: the one the decoder "
                   "reads); the levels sum to the KL") for n, key in found]


def extra_metrics(metrics: Mapping[str, Any]) -> list[Metric]:
    """Numeric test metrics the catalogue does not describe (a plugin family's own), shown as they come."""
    skip = {"test_n_images", "test_latent_dim", "test_active_threshold", "test_probe_train_size", "test_input_bits",
            "test_code_bits"}
    return [Metric(k, "Other (test)", k[5:], "", "reported by the model's parts", 4) for k, v in metrics.items()
            if k.startswith("test_") and k not in BY_KEY and k not in skip and not LEVEL_KL.fullmatch(k)
            and isinstance(v, (int, float)) and not isinstance(v, bool)]


def rows(runs: Mapping[str, Mapping[str, Any]]) -> list[tuple[Metric, dict[str, str]]]:
    """(metric, {run: cell}) for every catalogued metric that at least one run has or explains as n/a (a
    hierarchical model's per-level KL right after the KL), plus the runs' uncatalogued test metrics, in group
    order."""
    extra: dict[str, Metric] = {}
    levels: dict[str, Metric] = {}
    for metrics in runs.values():
        extra.update({m.key: m for m in extra_metrics(metrics)})
        levels.update({m.key: m for m in level_metrics(metrics)})
    catalogue = [m for metric in METRICS for m in ([metric, *levels.values()] if metric.key == "test_kl" else [metric])]
    out = []
    for metric in (*catalogue, *extra.values()):
        cells = {name: cell(metrics, metric) for name, metrics in runs.items()}
        if any(c != "not measured" for c in cells.values()):
            out.append((metric, cells))
    return out


def has_test_metrics(metrics: Mapping[str, Any], dataset: str | None = None) -> bool:
    """The run's metrics include a test evaluation (on ``dataset`` when given)."""
    return "test_n_images" in metrics and (dataset is None or metrics.get("test_dataset") == dataset)
