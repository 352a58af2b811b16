"""The figure commands on the flow, hyperspherical, hierarchical and Hamiltonian families say what their codes are and
why traversals are not ranked by KL; a ladder's traversals sweep only the level the decoder reads; `zoo eval` of a
Hamiltonian VAE says which space its bounds are of."""
import pytest
import torch
from helpers import one_thread, zoo_ok

import aezoo
from aezoo.api.train import train
from aezoo.core.posteriors import KINDS
from aezoo.registry import Registry
from aezoo.viz import views
from aezoo.viz.metrics import rows

MODELS = {"iaf-vae": "flow", "planar-vae": "flow", "hamiltonian-vae": "flow", "svae": "hyperspherical",
          "ladder-vae": "hierarchical"}


def _model(name):
    torch.manual_seed(0)
    sizes = {"latent_sizes": (4, 2)} if name == "ladder-vae" else {"latent_dim": 4}
    return aezoo.create_model(name, input_shape=(1, 8, 8), channels=(8, 16), **sizes)


@pytest.mark.parametrize("name", MODELS)
def test_traversals_and_latent_maps_name_the_codes_of_the_declared_kind(name, digits):
    model, kind = _model(name), MODELS[name]
    assert model.capabilities.posterior == kind
    with one_thread():
        shown = views.traversal(model, digits, dims=8)
        latent = views.latent(model, digits, method="pca", limit=200)
    assert shown.info["ranked_by"] == "variance" and shown.info["not_kl_because"] == KINDS[kind].no_kl
    assert shown.info["codes"] == latent.info["codes"] == KINDS[kind].codes
    assert model.latent_dim == (6 if name == "ladder-vae" else 4)
    assert {d["dim"] for d in shown.info["dims"]} == set(range(4))  # the ladder's level 2 (dims 4, 5) is never swept


def test_eval_of_a_hamiltonian_vae_says_its_bounds_are_of_the_augmented_space(tmp_path, monkeypatch):
    monkeypatch.setenv("AEZOO_HOME", str(tmp_path))
    with one_thread():
        model = train("hamiltonian-vae", hyperparameters={"latent_dim": 2, "channels": (8,), "leapfrog_steps": 1},
                      epochs=1, batch_size=256, seed=0)
        printed = zoo_ok("eval", model.run.id, "--iw-samples", 2, "--limit", 16)
    line = next(line for line in printed.splitlines() if line.startswith("test_bound"))
    assert "the augmented space (z, momentum)" in line
    shown = {metric.label: cells for metric, cells in rows({"run": Registry().get(model.run.id).metrics})}
    assert shown["bounds on"]["run"].startswith("the augmented space (z, momentum)")  # zoo report, zoo compare
