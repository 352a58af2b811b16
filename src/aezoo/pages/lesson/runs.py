"""The runs the lesson needs, and finding or training them.

Each run has a role on the page (``deep-ae-z2``: the deep autoencoder with a 2-D code). Its registry name is the
lesson key, ``lesson-DATASET-ROLE-HASH``, where HASH covers everything that makes the run what it is (model,
hyperparameters, dataset, epochs, seed, learning rate): a second `zoo lesson` with the same budget finds every run
by name and trains nothing, and a different budget trains new runs beside the old ones.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

DIMS = (2, 4, 8, 16)  # the latent sizes of the reconstruction-error curve
BETAS = (0.0, 1.0, 4.0)  # the KL weights of the sweep (1: the plain VAE of the regularity section)
HIGH_DIM = 16  # the higher-dimensional VAE of the t-SNE and sampling sections
HIDDEN = (512, 256)  # hidden widths of the deep AE, as of the tutorial's VAE, so the two differ only in the KL
LINEAR_LR = 1e-2  # a linear autoencoder creeps towards PCA's optimum at 1e-3; 1e-2 gets there in a class's time
LINEAR_AE = ("linear-ae", {})
QUICK_STEPS = 600  # optimiser steps per run with --quick (about 30 epochs of digits)
BATCH_SIZE = 64

Say = Callable[[str], None]


@dataclass(frozen=True)
class Need:
    """One run the page needs: its role on the page, the model and the hyperparameters that differ from the
    model's defaults, and a learning rate when it is not the trainer's default."""

    role: str
    model: str
    hyperparameters: dict[str, Any] = field(default_factory=dict, hash=False)
    lr: float | None = None
    closed_form: bool = False  # fitted once (PCA): the budget's epochs do not apply


def pca(d: int) -> Need:
    return Need(f"pca-z{d}", "pca", {"latent_dim": d}, closed_form=True)


def linear_ae(d: int) -> Need:
    model, extra = LINEAR_AE
    return Need(f"linear-ae-z{d}", model, {"latent_dim": d, **extra}, lr=LINEAR_LR)


def deep_ae(d: int) -> Need:
    return Need(f"deep-ae-z{d}", "mlp-ae", {"latent_dim": d, "hidden": HIDDEN})


def vae(d: int, beta: float = 1.0) -> Need:
    role = f"vae-z{d}" + ("" if d != 2 else f"-beta{beta:g}")
    return Need(role, "vae", {"latent_dim": d, "hidden": HIDDEN, "beta": float(beta)})


DENOISING = Need("denoising-ae", "denoising-ae")
INPAINTING = Need("inpainting-ae", "inpainting-ae")
COMPRESSION_DIM = 8  # the deep AE whose reconstructions show compression


def needs(section: str, dims: Sequence[int] = DIMS, betas: Sequence[float] = BETAS) -> list[Need]:
    """The runs one section of the page shows."""
    if section == "dimensions":
        return [f(d) for d in dims for f in (pca, linear_ae, deep_ae)]
    if section == "restoration":
        return [deep_ae(COMPRESSION_DIM), DENOISING, INPAINTING]
    if section == "regularity":
        return [deep_ae(2), vae(2, 1.0)]
    if section == "kl":
        return [vae(2, b) for b in betas]
    if section in ("tsne", "sampling"):
        return [vae(HIGH_DIM)]
    raise ValueError(f"unknown lesson section {section!r}")


def all_needs(sections: Sequence[str], dims: Sequence[int] = DIMS, betas: Sequence[float] = BETAS) -> list[Need]:
    """The runs of ``sections``, each once, in page order."""
    out: dict[str, Need] = {}
    for section in sections:
        for need in needs(section, dims, betas):
            out.setdefault(need.role, need)
    return list(out.values())


@dataclass(frozen=True)
class Budget:
    """What every run of one lesson shares: the data, the number of epochs and the seed."""

    dataset: str
    data_dir: str | None
    epochs: int
    seed: int = 0


def lesson_epochs(n_train: int, epochs: int | None, quick: bool) -> int:
    """``epochs`` when given; with ``quick`` enough epochs for about QUICK_STEPS steps (at least one); else the
    trainer's own default for this much data."""
    from aezoo.core.trainer import auto_epochs

    if epochs is not None:
        return int(epochs)
    per_epoch = max(1, -(-n_train // BATCH_SIZE))
    return max(1, -(-QUICK_STEPS // per_epoch)) if quick else auto_epochs(n_train, BATCH_SIZE)


def slug(text: str, limit: int = 16) -> str:
    """``text`` as a short piece of a run name (letters, digits, '-')."""
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()[:limit].strip("-") or "data"


def settings(need: Need, budget: Budget, dataset_name: str) -> dict[str, Any]:
    """Everything that makes the run what it is, as plain JSON values (the lesson key hashes it)."""
    from aezoo.api.catalog import model_spec

    hp = model_spec(need.model).check(need.hyperparameters)
    return json.loads(json.dumps({"model": need.model, "hyperparameters": hp, "dataset": dataset_name,
                                  "data_dir": budget.data_dir, "epochs": epochs(need, budget), "seed": budget.seed,
                                  "lr": need.lr, "batch_size": BATCH_SIZE}, sort_keys=True, default=str))


def epochs(need: Need, budget: Budget) -> int:
    """The budget's epochs; 1 for a closed-form fit, so one PCA serves every budget."""
    return 1 if need.closed_form else budget.epochs


def run_name(need: Need, budget: Budget, dataset_name: str) -> str:
    """The lesson key: ``lesson-DATASET-ROLE-HASH`` (at most 64 characters, a valid run name; HASH starts with
    ``h``, so the name never ends in '-' and a number, which would read as a run id)."""
    key = hashlib.sha256(json.dumps(settings(need, budget, dataset_name), sort_keys=True).encode()).hexdigest()
    return f"lesson-{slug(dataset_name)}-{need.role}-h{key[:8]}"


def matches(record: Any, wanted: dict[str, Any]) -> bool:
    """Whether a saved run was trained as ``wanted`` (settings()) says."""
    from aezoo.core.trainer import TrainConfig

    train = record.config.get("train", {})
    saved = json.loads(json.dumps({"model": record.model, "hyperparameters": record.hyperparameters,
                                   "dataset": record.config.get("dataset")}, default=str))
    lr = wanted["lr"] if wanted["lr"] is not None else TrainConfig().lr
    return (saved == {k: wanted[k] for k in ("model", "hyperparameters", "dataset")}
            and train.get("epochs") == wanted["epochs"] and train.get("seed") == wanted["seed"]
            and train.get("lr") == lr and train.get("batch_size") == wanted["batch_size"])


@dataclass
class Obtained:
    """A run the page uses: its role, the loaded model (``model.run`` its record) and whether it was reused."""

    need: Need
    model: Any
    reused: bool

    @property
    def name(self) -> str:
        return self.model.run.name or self.model.run.id


def obtain(need: Need, budget: Budget, dataset_name: str, home: str | None = None, say: Say = lambda line: None,
           progress: Any = False) -> Obtained:
    """The run of ``need`` under ``budget``: found in the registry by its lesson key, else trained and saved."""
    from aezoo.api.load import load
    from aezoo.api.train import train
    from aezoo.errors import AezooError
    from aezoo.registry import Registry
    from aezoo.registry.refs import UnknownRunError

    registry = Registry(home)
    name = run_name(need, budget, dataset_name)
    try:
        record = registry.get(name)
    except UnknownRunError:
        record = None
    if record is not None:
        if not matches(record, settings(need, budget, dataset_name)):
            raise AezooError(f"run {record.id} is named {name!r}, the lesson's key for {need.role}, but was trained "
                             f"otherwise; rename or remove it (`zoo runs rm {record.id}`) and run the lesson again")
        say(f"reusing {name} ({need.role})")
        return Obtained(need, load(record.id, home=home), reused=True)
    how = "in closed form" if need.closed_form else f"for {budget.epochs} epochs"
    say(f"{'fitting' if need.closed_form else 'training'} {need.role}: {need.model} {describe_hp(need)}{how} as {name}")
    options = {"lr": need.lr} if need.lr is not None else {}
    net = train(need.model, dataset=budget.dataset, data_dir=budget.data_dir, hyperparameters=need.hyperparameters,
                name=name, registry=registry, progress=progress, epochs=epochs(need, budget), seed=budget.seed,
                batch_size=BATCH_SIZE, device="auto", **options)
    return Obtained(need, net.eval(), reused=False)


def describe_hp(need: Need) -> str:
    """``latent_dim=2 hidden=512,256 `` (the hyperparameters the lesson sets), for progress lines and commands."""
    return "".join(f"{k}={format_value(v)} " for k, v in need.hyperparameters.items())


def format_value(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return ",".join(str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def train_command(need: Need, budget: Budget, name: str) -> str:
    """The `zoo train` command that trains this run by hand (named as the lesson names it)."""
    parts = ["zoo", "train", need.model]
    if budget.dataset != "digits":
        parts += ["--dataset", budget.dataset]
    if budget.data_dir:
        parts += ["--data-dir", budget.data_dir]
    for key, value in need.hyperparameters.items():
        parts += ["--set", f"{key}={format_value(value)}"]
    parts += ([] if need.closed_form else ["--epochs", str(budget.epochs)]) + ["--seed", str(budget.seed)]
    if need.lr is not None:
        parts += ["--lr", f"{need.lr:g}"]
    return " ".join(parts + ["--name", name])
