"""Every registered model, built-in or from a plugin, goes through the whole life of a run: train (1 epoch on
digits, small widths) -> `zoo eval` -> `zoo sample` -> aezoo.load bit-exactly -> export / import. Models with an
auxiliary network (a discriminator) also resume from Ctrl-C to the same weights, both optimisers included."""
import math
import os
import signal

import pytest
import torch
from helpers import one_thread, zoo_ok

import aezoo
from aezoo.api.train import Interrupted, train
from aezoo.core.events import TrainingEvents
from aezoo.registry import Registry

LIKELIHOOD_METRICS = ("kl", "neg_elbo", "iw_nll")
SETTINGS = dict(epochs=1, batch_size=256, seed=0)


def small(name):
    """Small widths for whichever of the usual width hyperparameters the model has; latent 4 (VQ needs a multiple
    of its embedding size)."""
    valid = aezoo.model_spec(name).hyperparameters()
    wanted = {"latent_dim": 4, "channels": (8, 16), "hidden": (32,), "disc_hidden": (16,)}
    return {k: v for k, v in wanted.items() if k in valid}


def with_aux(name):
    return bool(aezoo.create_model(name, input_shape=(1, 8, 8), **small(name)).capabilities.aux)


def assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def numbers(value, path="metrics"):
    """(path, number) for every number in a JSON-like value."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, (int, float)):
        return [(path, value)]
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in numbers(v, f"{path}.{k}")]
    return [n for i, v in enumerate(value) for n in numbers(v, f"{path}[{i}]")]


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory):
    """One registry for the module, so the digits classifier behind class consistency is trained once."""
    return tmp_path_factory.mktemp("every-model-home")


@pytest.fixture(autouse=True)
def home_and_one_thread(shared_home, monkeypatch):
    monkeypatch.setenv("AEZOO_HOME", str(shared_home))
    with one_thread():
        yield


def assert_eval_output_is_honest(printed, metrics, model):
    """Every printed metric is a finite number or shown as not applicable with its reason; the likelihood metrics
    are each either a finite non-zero number or left out with a reason, as the model's capabilities say."""
    skipped = metrics.get("test_not_applicable", {})
    lines = [line for line in printed.strip().splitlines() if not line.startswith("warning: ")]
    assert lines[0].startswith("evaluated ") and lines[-1].startswith("saved the metrics")
    for line in lines[1:-1]:
        key, _, shown = line.partition(" ")
        shown = shown.strip()
        if shown.startswith("n/a: "):
            assert skipped.get(key.removeprefix("test_")) == shown.removeprefix("n/a: ") != "", line
        else:
            assert key in metrics, line
            assert "nan" not in shown.lower() and "inf" not in shown.lower().replace("info", ""), line
    bad = [(path, v) for path, v in numbers(metrics) if not math.isfinite(v)]
    assert not bad, bad
    for name in LIKELIHOOD_METRICS:
        present = f"test_{name}" in metrics
        assert present != (name in skipped), name
        if present:
            assert metrics[f"test_{name}"] != 0.0, name
        else:
            assert skipped[name].strip(), name
    if model.capabilities.likelihood_bound:
        assert not skipped


@pytest.mark.parametrize("name", aezoo.list_models())
def test_every_model_trains_evaluates_samples_reloads_and_travels(name, tmp_path):
    model = train(name, hyperparameters=small(name), **SETTINGS)
    run_id = model.run.id

    printed = zoo_ok("eval", run_id, "--iw-samples", 5, "--limit", 64)
    metrics = Registry().get(run_id).metrics
    assert metrics["test_n_images"] == 64
    assert_eval_output_is_honest(printed, metrics, model)

    png = tmp_path / "samples.png"
    zoo_ok("sample", run_id, "-o", png, "-n", 4)
    assert png.read_bytes()[:4] == b"\x89PNG"

    loaded = aezoo.load(run_id)
    assert_same_weights(model, loaded)
    z = torch.randn(3, model.latent_dim, generator=torch.Generator().manual_seed(0))
    y = torch.arange(3) if model.conditional else None  # a conditional model is given labels
    assert torch.equal(model.decode(z, y), loaded.decode(z, y))
    x = torch.rand(3, *model.input_shape, generator=torch.Generator().manual_seed(1))
    assert torch.equal(model.encode(x, y), loaded.encode(x, y))

    folder = tmp_path / "export"
    zoo_ok("export", run_id, folder)
    assert_same_weights(model, aezoo.load(str(folder)))
    imported = zoo_ok("import", folder).split(" as ")[-1].strip()
    assert imported != run_id
    assert_same_weights(model, aezoo.load(imported))


class InterruptAfter(TrainingEvents):
    """Sends this process a Ctrl-C after ``n`` batches, as a user would."""

    def __init__(self, n):
        self.n = n

    def batch(self, loss, images):
        self.n -= 1
        if self.n == 0:
            os.kill(os.getpid(), signal.SIGINT)


@pytest.mark.parametrize("name", [n for n in aezoo.list_models() if with_aux(n)])
def test_an_interrupted_run_with_an_aux_optimiser_resumes_to_the_same_weights(name):
    settings = dict(SETTINGS, epochs=2)  # 6 batches an epoch: interrupted in the middle of the second
    straight = train(name, hyperparameters=small(name), **settings)
    with pytest.raises(Interrupted) as stop:
        train(name, hyperparameters=small(name), progress=InterruptAfter(8), **settings)
    resumed = train("", resume=stop.value.key)
    assert_same_weights(straight, resumed)  # the discriminator's weights included
    assert [h["train_discriminator"] for h in resumed.run.history] == \
        [h["train_discriminator"] for h in straight.run.history]
