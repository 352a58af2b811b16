"""How figures and pages name runs: by their ``--name`` and id, and, beside other runs, by the settings that
differ between them (``beta=4``), so that a sweep's figures read without notes."""
from __future__ import annotations

from typing import Any, Sequence

from aezoo.viz.html import format_value


def run_label(model: Any) -> str:
    """``name (id)`` for a named run, the id for an unnamed one; a model that is no saved run is described by
    its latent space."""
    run = getattr(model, "run", None)
    if run is None:
        return f"unsaved {model.latent_dim}-D {model.capabilities.posterior}-code model"
    return f"{run.name} ({run.id})" if run.name else run.id


def settings(model: Any) -> dict[str, Any]:
    """What a run was made with: its model, dataset, hyperparameters and epochs (empty for an unsaved model)."""
    run = getattr(model, "run", None)
    if run is None:
        return {}
    train = run.config.get("train") or {}
    return {"model": run.model, "dataset": run.config.get("dataset"), **run.hyperparameters,
            "epochs": train.get("epochs")}


def differences(models: Sequence[Any]) -> list[dict[str, Any]]:
    """Per model, the settings whose values differ between the models that have them (keys only some models
    have, e.g. ``beta`` beside a plain AE, count where they are set)."""
    all_settings = [settings(m) for m in models]
    keys = list(dict.fromkeys(k for s in all_settings for k in s))
    varying = [k for k in keys if len({repr(s[k]) for s in all_settings if k in s}) > 1]
    return [{k: s[k] for k in varying if k in s} for s in all_settings]


def run_labels(models: Sequence[Any]) -> list[str]:
    """Each model's ``run_label`` followed by the settings that differ from the other models' (``vae-beta4
    (vae-3): beta=4``); the model name is left out when it is part of the label already."""
    out = []
    for model, diff in zip(models, differences(models)):
        label = run_label(model)
        shown = [f"{k}={format_value(v)}" for k, v in diff.items() if not (k == "model" and str(v) in label)]
        out.append(label + (": " + ", ".join(shown) if shown else ""))
    return out
