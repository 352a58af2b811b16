"""Warnings read from the metrics a run already has, shown wherever a user looks (the end of training, `zoo eval`,
the report and `zoo compare`): one function decides, so that every place says the same thing."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    import torch

KL_FLOOR = 0.5  # nats per image: a code that tells the decoder less than one bit about the image
COLLAPSE_ADVICE = "try a smaller beta, KL warm-up or more epochs"


def _number(metrics: Mapping[str, Any], *keys: str) -> float | None:
    for key in keys:
        value = metrics.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def collapse_warning(metrics: Mapping[str, Any]) -> str | None:
    """"posterior collapse: ..." when a model with a KL term has a KL near 0 (below KL_FLOOR nats per image) or
    no active latent unit, else None. Reads the test metrics of `zoo eval` (``test_kl``, ``test_active_units``,
    ``test_posterior``) or, at the end of training, the validation ones (``val_kl``, ``val_active_units``); a
    model without a KL term (a plain autoencoder, a quantised code) gets no warning."""
    kl = _number(metrics, "test_kl", "val_kl", "kl")
    if kl is None or metrics.get("test_posterior", metrics.get("posterior")) == "quantised":
        return None  # a VQ model's "KL" is -log P(code): no KL term that could pull the codes to the prior
    active = _number(metrics, "test_active_units", "val_active_units", "active_units")
    dims = _number(metrics, "test_latent_dim", "latent_dim")
    if kl >= KL_FLOOR and active != 0:
        return None
    facts = [f"KL {kl:.3g} nats/image"]
    if active is not None:
        facts.append(f"{active:.0f}" + (f" of {dims:.0f}" if dims is not None else "") + " latent units active")
    return f"posterior collapse: the decoder ignores the code ({', '.join(facts)}); {COLLAPSE_ADVICE}"


def warnings(metrics: Mapping[str, Any]) -> list[str]:
    """Every warning that applies to a run with these metrics (today: posterior collapse)."""
    return [w for w in (collapse_warning(metrics),) if w]


def after_training(model: Any, val_images: "torch.Tensor", metrics: Mapping[str, Any],
                   val_labels: "torch.Tensor | None" = None) -> list[str]:
    """The warnings at the end of training, from the best epoch's validation metrics (``val_kl``) and the
    active units of the validation codes (measured here, only for a model with a KL term; ``val_labels`` for a
    conditional model)."""
    if _number(metrics, "val_kl") is None:
        return []
    from aezoo.core.evaluator import active_units
    from aezoo.core.sampling import encode_all

    active = active_units(encode_all(model, val_images, y=val_labels))["active_units"]
    return warnings({**metrics, "val_active_units": active, "latent_dim": model.latent_dim,
                     "posterior": model.capabilities.posterior})
