"""Splits nested training state into flat tensors (for safetensors) and a JSON skeleton, and back. No pickle."""
from __future__ import annotations

from dataclasses import fields
from typing import Any

import torch

from aezoo.core.trainer import TrainState

TENSOR, INT_KEYS, TUPLE = "__tensor__", "__int_keys__", "__tuple__"


def flatten(obj: Any, tensors: dict[str, torch.Tensor], prefix: str = "") -> Any:
    """Replace every tensor in ``obj`` by a reference into ``tensors``; return the JSON-able rest."""
    if isinstance(obj, torch.Tensor):
        key = prefix or "tensor"
        tensors[key] = obj.detach().cpu().contiguous()
        return {TENSOR: key}
    if isinstance(obj, dict):
        int_keys = bool(obj) and all(isinstance(k, int) for k in obj)
        body = {str(k): flatten(v, tensors, f"{prefix}.{k}" if prefix else str(k)) for k, v in obj.items()}
        return {INT_KEYS: body} if int_keys else body
    if isinstance(obj, tuple):
        return {TUPLE: [flatten(v, tensors, f"{prefix}.{i}") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [flatten(v, tensors, f"{prefix}.{i}") for i, v in enumerate(obj)]
    return obj


def unflatten(obj: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(obj, dict):
        if TENSOR in obj:
            return tensors[obj[TENSOR]]
        if INT_KEYS in obj:
            return {int(k): unflatten(v, tensors) for k, v in obj[INT_KEYS].items()}
        if TUPLE in obj:
            return tuple(unflatten(v, tensors) for v in obj[TUPLE])
        return {k: unflatten(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [unflatten(v, tensors) for v in obj]
    return obj


def state_to_parts(state: TrainState) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    skeleton = {f.name: flatten(getattr(state, f.name), tensors, f.name) for f in fields(state)}
    return tensors, skeleton


def state_from_parts(tensors: dict[str, torch.Tensor], skeleton: dict[str, Any]) -> TrainState:
    values = unflatten(skeleton, tensors)
    values["best_loss"] = float(values["best_loss"])
    return TrainState(**values)
