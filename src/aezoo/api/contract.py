"""A freshly built model checked once on a tiny batch against the contract of docs/plugins.md: the encoder's
codes are (N, latent_dim) and the decoder gives back images of the input's shape (a conditional model is given
label 0 for every image). A plugin that breaks it is
named, with the part and the contract, instead of a torch shape error deep inside training.

The check changes nothing: the model runs in eval mode without gradients (no running statistics, no lazy
codebook set), under a forked random state, and every module's training flag is put back."""
from __future__ import annotations

from typing import Any

from aezoo.errors import PluginError

BATCH = 2
CONTRACT = "docs/plugins.md, 'What the factory returns'"
ENCODER = ("an Encoder maps images (N, C, H, W) to codes (N, latent_dim), or to (mu, logvar) each (N, latent_dim) "
           "for a Gaussian posterior")
DECODER = "a Decoder maps codes (N, latent_dim) to logits shaped exactly like the input (N, C, H, W)"
PARTS = ("encoder", "posterior", "decoder", "input_shape", "latent_dim")


def check_contract(model: Any, owner: str) -> None:
    """Raise PluginError naming ``owner`` ("model 'x' of plugin 'p'"), the part and its contract when ``model``
    lacks a part, or its encoder or decoder fails or gives the wrong shape on a batch of BATCH grey images."""
    import torch

    missing = [p for p in PARTS if not hasattr(model, p)]
    if not isinstance(model, torch.nn.Module) or missing:
        raise PluginError(f"{owner}: the factory returned a {type(model).__name__} without "
                          f"{', '.join(missing) or 'nn.Module'}; it must return an aezoo.core.autoencoder.AutoEncoder "
                          f"({CONTRACT})")
    shape, latent = tuple(model.input_shape), int(model.latent_dim)
    param = next(model.parameters(), None)
    x = torch.full((BATCH, *shape), 0.5, device=param.device if param is not None else "cpu",
                   dtype=param.dtype if param is not None and param.is_floating_point() else torch.float32)
    y = torch.zeros(BATCH, dtype=torch.long, device=x.device) if getattr(model, "conditional", False) else None
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[]):
            images = ("images", x)
            encode = (lambda: model.posterior(model.encoder(x))) if y is None else (lambda: model.infer(x, y))
            q = _run(owner, "encoder", ENCODER, encode, images)
            codes = _run(owner, "encoder", ENCODER,
                         lambda: (q.mean, q.sample(None, torch.Generator().manual_seed(0))), images)
            for what, z in zip(("codes", "sampled codes"), codes):
                _expect_shape(owner, "encoder", ENCODER, what, z, (BATCH, latent), images)
            decode = (lambda: model.decoder(codes[0])) if y is None else (lambda: model.logits(codes[0], y))
            logits = _run(owner, "decoder", DECODER, decode, ("codes", codes[0]))
            _expect_shape(owner, "decoder", DECODER, "logits", logits, (BATCH, *shape), ("codes", codes[0]))
    finally:
        for module, training in modes:
            module.training = training


def _described(value: Any) -> str:
    return f"shape {tuple(value.shape)}" if hasattr(value, "shape") else f"type {type(value).__name__}"


def _run(owner: str, part: str, contract: str, call: Any, given: tuple[str, Any]) -> Any:
    try:
        return call()
    except Exception as exc:  # whatever the plugin's code raises: name it and the contract
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise PluginError(f"{owner}: its {part} fails on {given[0]} of {_described(given[1])}: "
                          f"{type(exc).__name__}: {first}; {contract} ({CONTRACT})") from exc


def _expect_shape(owner: str, part: str, contract: str, what: str, value: Any, want: tuple[int, ...],
                  given: tuple[str, Any]) -> None:
    if getattr(value, "shape", None) is None or tuple(value.shape) != want:
        raise PluginError(f"{owner}: its {part} breaks the contract: given {given[0]} of {_described(given[1])} "
                          f"it returned {what} of {_described(value)}, expected shape {want}; {contract} "
                          f"({CONTRACT})")
