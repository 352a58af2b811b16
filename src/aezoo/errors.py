"""Errors meant for users: each says what was wrong and what to try. The CLI prints them without a traceback."""
from __future__ import annotations

import difflib


class AezooError(Exception):
    """Base class of every error a user can cause."""


class PluginError(AezooError):
    """A plugin or a registration is malformed."""


class UnknownNameError(AezooError, KeyError):
    """A model, dataset or run name that does not exist."""

    def __init__(self, kind: str, name: str, choices: list[str]):
        self.kind, self.name, self.choices = kind, name, sorted(choices)
        close = difflib.get_close_matches(name, self.choices, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listed = ", ".join(self.choices) if len(self.choices) <= 20 else f"{len(self.choices)} choices"
        super().__init__(f"unknown {kind} {name!r}{hint} (valid: {listed or 'none'})")

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class UnknownModelError(UnknownNameError):
    def __init__(self, name: str, choices: list[str]):
        super().__init__("model", name, choices)


class UnknownDatasetError(UnknownNameError):
    def __init__(self, name: str, choices: list[str]):
        super().__init__("dataset", name, choices)


class BadHyperparameterError(AezooError, ValueError):
    """A hyperparameter the model does not take, or a value it cannot use."""


class DatasetError(AezooError):
    """Data that cannot be found or read."""


class RegistryError(AezooError):
    """A run that is missing, corrupt or malformed in the registry."""


class TrainingError(AezooError):
    """Training stopped for a reason the user must act on (e.g. a non-finite loss)."""


class AezooWarning(UserWarning):
    """Something the user should know that does not stop the command (the CLI prints it as ``warning: ...``)."""
