"""Hyperparameter value checks, torch-free. The built-in builds and parts check each value with the functions here;
``check_hyperparameters`` checks a whole dict by name, so that a registration naming it (every built-in does) refuses
a bad value (``zoo train vae --set beta=-1``) before a model module, or torch, is imported. Each message names the
hyperparameter, the value given and what is expected."""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

MAX_INT = 2**31 - 1  # no size, count or width a model takes is larger
LIKELIHOODS = ("bernoulli", "gaussian")
NOISES = ("gaussian", "salt-pepper")  # denoising: the level is a std (gaussian) or a fraction of pixels
MASKS = ("pixels", "block")  # inpainting: the level is a drop probability or a block side / image side
SAMPLINGS = ("mws", "mss")  # beta-TCVAE's estimates of q(z): minibatch-weighted or minibatch-stratified
PENALTIES = ("l2", "gp")  # RAE: the decoder's weights or its gradient
DIP_TYPES = ("i", "ii")  # DIP-VAE: the covariance of the posterior means, or of the aggregate posterior
MS_SSIM_SCALES = 5  # Wang et al. 2003 define MS-SSIM with at most five scales (their five weights)

Rule = Callable[[str, Any], Any]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _refuse(name: str, value: Any, expected: str) -> ValueError:
    return ValueError(f"{name} must be {expected}, got {value!r}")


def positive_int(name: str, value: Any) -> int:
    """``value`` as an int >= 1 (a float with a whole value, such as 4.0, is accepted)."""
    if not _number(value) or int(value) != value or value < 1:
        raise _refuse(name, value, "a positive integer")
    return int(value)


def count(name: str, value: Any, least: int = 0) -> int:
    """``value`` as a whole number >= ``least``."""
    if not _number(value) or int(value) != value or value < least:
        raise _refuse(name, value, f"a whole number >= {least}")
    return int(value)


def weight(name: str, value: Any) -> float:
    """``value`` as a finite float >= 0 (a loss weight)."""
    if not _number(value) or value < 0:
        raise _refuse(name, value, "a finite number >= 0")
    return float(value)


def positive(name: str, value: Any) -> float:
    """``value`` as a finite float > 0 (a scale, a learning rate)."""
    if not _number(value) or value <= 0:
        raise _refuse(name, value, "a finite number > 0")
    return float(value)


def finite(name: str, value: Any) -> float:
    if not _number(value):
        raise _refuse(name, value, "a finite number")
    return float(value)


def widths(name: str, value: Any, empty: bool = False) -> tuple[int, ...]:
    """Layer widths: a list of positive integers, at least one unless ``empty``."""
    expected = f"{'a list of' if empty else 'one or more'} layer widths, each a positive integer (e.g. 32,64)"
    if not isinstance(value, (tuple, list)) or not (value or empty):
        raise _refuse(name, value, expected)
    for width in value:
        if not _number(width) or int(width) != width or width < 1:
            raise _refuse(name, value, expected)
    return tuple(int(w) for w in value)


def one_of(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise _refuse(name, value, "one of " + ", ".join(map(repr, choices)))
    return value


def likelihood(name: str, value: Any) -> Any:
    """A likelihood's name; anything else (a ``Likelihood`` instance) is left to ``make_likelihood``."""
    return one_of(name, value, LIKELIHOODS) if isinstance(value, str) else value


def corruption_level(name: str, kind: str, value: Any) -> float:
    """A corruption's level: a std >= 0 for gaussian noise, else a fraction between 0 and 1."""
    top, expected = (math.inf, "a finite number >= 0 (a std)") if kind == "gaussian" else (1, "between 0 and 1")
    if not _number(value) or not 0 <= value <= top:
        raise _refuse(name, value, f"{expected} for {kind!r}")
    return float(value)


def code_positions(latent_dim: int, embedding_dim: int) -> None:
    """VQ-VAE: the code splits into ``latent_dim / embedding_dim`` vectors."""
    if latent_dim % embedding_dim:
        raise ValueError(f"latent_dim must be a multiple of embedding_dim ({embedding_dim}), got {latent_dim!r}")


def fsq_levels(name: str, value: Any) -> tuple[int, ...]:
    """FSQ: the number of values of each number of a code position, each a whole number >= 2."""
    expected = "one or more numbers of levels, each a whole number >= 2 (e.g. 8,5,5,5)"
    if not isinstance(value, (tuple, list)) or not value:
        raise _refuse(name, value, expected)
    for level in value:
        if not _number(level) or int(level) != level or level < 2:
            raise _refuse(name, value, expected)
    return tuple(int(level) for level in value)


def fsq_positions(latent_dim: int, levels: tuple[int, ...]) -> None:
    """FSQ: the code splits into positions of ``len(levels)`` numbers."""
    if latent_dim % len(levels):
        raise ValueError(f"latent_dim must be a multiple of the number of levels ({len(levels)}: "
                         f"levels={tuple(levels)}), got {latent_dim!r}")


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise _refuse(name, value, "true or false")
    return value


def temperatures(temperature: float, min_temperature: float) -> None:
    """Gumbel-softmax: the annealed temperature falls from ``temperature`` to ``min_temperature``."""
    if min_temperature > temperature:
        raise ValueError(f"min_temperature must not exceed temperature (the schedule anneals down), got "
                         f"temperature={temperature!r}, min_temperature={min_temperature!r}")


def info_vae_weights(alpha: float, lbd: float) -> None:
    """InfoVAE: the weights 1 - alpha on the KL and alpha + lbd - 1 on the MMD must not be negative."""
    if alpha > 1 or alpha + lbd - 1 < 0:
        raise ValueError(f"InfoVAE's weights 1 - alpha (on the KL) and alpha + lbd - 1 (on the MMD) must not be "
                         f"negative: expected alpha <= 1 and alpha + lbd >= 1, got alpha={alpha!r}, lbd={lbd!r}")


def tc_weights(alpha: float, beta: float, gamma: float) -> None:
    """beta-TCVAE: the weights on the mutual information, total correlation and dimension-wise KL are >= 0."""
    for name, value in (("alpha", alpha), ("beta", beta), ("gamma", gamma)):
        weight(name, value)


def stratified_sampling(sampling: str, dataset_size: int) -> None:
    """beta-TCVAE: minibatch-stratified sampling needs the number of training images."""
    if sampling == "mss" and not dataset_size:
        raise ValueError(f"sampling='mss' needs dataset_size, the number of training images "
                         f"(e.g. --set dataset_size=1294), got dataset_size={dataset_size!r}")


def bound_mix(k: int, beta: Any) -> float:
    """CIWAE: ``beta`` mixes the K-sample ELBO (beta=1) and the IWAE bound (beta=0), so it lies between 0 and 1."""
    if not _number(beta) or not 0 <= beta <= 1:
        raise _refuse("beta", beta, "between 0 and 1 (CIWAE mixes beta x ELBO and (1 - beta) x the IWAE bound)")
    return float(beta)


def odd_window(name: str, value: Any) -> int:
    """A window size in pixels: an odd positive integer, so that the window has a centre."""
    if not _number(value) or int(value) != value or value < 1 or value % 2 == 0:
        raise _refuse(name, value, "an odd positive integer (a window with a centre pixel, e.g. 3)")
    return int(value)


def ms_ssim_scales(name: str, value: Any) -> int:
    """MS-SSIM's number of scales: 1 (plain SSIM) to 5 (the standard weights)."""
    if not _number(value) or int(value) != value or not 1 <= value <= MS_SSIM_SCALES:
        raise _refuse(name, value, f"a whole number from 1 to {MS_SSIM_SCALES}")
    return int(value)


def discriminator_layer(layer: int, disc_channels: tuple[int, ...]) -> None:
    """VAE-GAN: the discriminator layer whose features are compared: 0 (the pixels) to its number of conv layers."""
    if layer > len(disc_channels):
        raise ValueError(f"feature_layer must be between 0 (the pixels) and {len(disc_channels)}, the discriminator's "
                         f"number of conv layers (disc_channels={tuple(disc_channels)!r}), got {layer!r}")


def _choice(choices: tuple[str, ...]) -> Rule:
    return lambda name, value: one_of(name, value, choices)


def _level(kind_key: str) -> Callable[[str, Any], None]:
    return lambda kind, level: corruption_level(f"{kind_key}_level", kind, level)


RULES: dict[str, Rule] = {  # each name means the same wherever a built-in model has it
    "latent_dim": positive_int, "hidden": widths, "channels": widths,
    "disc_hidden": lambda name, value: widths(name, value, empty=True), "likelihood": likelihood,
    "beta": weight, "gamma": weight, "commitment": weight, "reg_weight": weight, "embedding_weight": weight,
    "adversarial_weight": weight, "alpha": finite, "lbd": finite, "kernel_scale": positive, "disc_lr": positive,
    "k": positive_int, "m": positive_int, "components": positive_int, "embedding_dim": positive_int,
    "codebook_size": lambda name, value: count(name, value, least=2),
    "categories": lambda name, value: count(name, value, least=2), "levels": fsq_levels,
    "classes": lambda name, value: count(name, value, least=1),
    "temperature": positive, "min_temperature": positive, "anneal_rate": weight, "anneal_every": positive_int,
    "straight_through": flag,
    "warmup": count, "restart_every": count, "dataset_size": count,
    "sampling": _choice(SAMPLINGS), "penalty": _choice(PENALTIES), "noise": _choice(NOISES), "mask": _choice(MASKS),
    "noise_level": finite, "mask_level": finite,
    "dip_type": _choice(DIP_TYPES), "lambda_od": weight, "lambda_d": weight,
    "capacity": weight, "capacity_steps": count, "projections": positive_int,
    "scales": ms_ssim_scales, "window": odd_window,
    "feature_layer": count, "disc_channels": widths,
}

RELATIONS: tuple[tuple[tuple[str, ...], Callable[..., None]], ...] = (  # rules between values of one model
    (("latent_dim", "embedding_dim"), code_positions),
    (("latent_dim", "levels"), fsq_positions),
    (("temperature", "min_temperature"), temperatures),
    (("alpha", "lbd"), info_vae_weights),
    (("alpha", "beta", "gamma"), tc_weights),
    (("sampling", "dataset_size"), stratified_sampling),
    (("k", "beta"), bound_mix),  # a K-sample bound with a beta: CIWAE's mix of the ELBO and the IWAE bound
    (("feature_layer", "disc_channels"), discriminator_layer),
    (("noise", "noise_level"), _level("noise")),
    (("mask", "mask_level"), _level("mask")),
)


def check_hyperparameters(values: Mapping[str, Any]) -> None:
    """Check every value of ``values`` that has a rule in RULES, then the RELATIONS whose names all appear;
    raises ValueError for the first bad one. Names without a rule pass unchecked."""
    checked = {name: RULES[name](name, value) if name in RULES else value for name, value in values.items()}
    for names, rule in RELATIONS:
        if all(n in checked for n in names):
            rule(*(checked[n] for n in names))


def check_bounded(values: Mapping[str, Any]) -> None:
    """Refuse NaN, infinite and absurdly large numbers anywhere in any model's hyperparameters, naming the key."""
    def problem(value: Any) -> str:
        if isinstance(value, float) and not math.isfinite(value):
            return "is not a finite number"
        if isinstance(value, int) and abs(value) > MAX_INT:
            return f"is larger than {MAX_INT:,}"
        if isinstance(value, (tuple, list)):
            return next((p for p in map(problem, value) if p), "")
        return ""

    for key, value in values.items():
        if found := problem(value):
            raise ValueError(f"hyperparameter {key}={value!r} {found}")
