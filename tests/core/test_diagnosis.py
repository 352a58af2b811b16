"""The posterior-collapse warning is decided from the metrics a run already has, in one place."""
import pytest

from aezoo.core.diagnosis import KL_FLOOR, collapse_warning, warnings


@pytest.mark.parametrize("metrics", [
    {"test_kl": 0.007, "test_active_units": 0, "test_latent_dim": 16},  # the README's beta-vae, collapsed
    {"test_kl": 0.2, "test_active_units": 3},  # KL near 0 although some means still move a little
    {"test_kl": 3.0, "test_active_units": 0},  # no unit active
    {"val_kl": 0.0001, "val_active_units": 0},  # at the end of training
])
def test_a_collapsed_model_is_warned_with_the_advice(metrics):
    warning = collapse_warning(metrics)
    assert warning.startswith("posterior collapse: the decoder ignores the code")
    assert warning.endswith("try a smaller beta, KL warm-up or more epochs")
    assert warnings(metrics) == [warning]


def test_the_warning_says_the_numbers():
    assert "(KL 0.007 nats/image, 0 of 16 latent units active)" in collapse_warning(
        {"test_kl": 0.007, "test_active_units": 0, "test_latent_dim": 16})


@pytest.mark.parametrize("metrics", [
    {"test_kl": 3.24, "test_active_units": 13},  # a healthy conv-vae
    {"test_kl": KL_FLOOR, "test_active_units": 1},
    {"test_active_units": 0, "test_not_applicable": {"kl": "deterministic encoder"}},  # a plain AE has no KL
    {"test_kl": 4.16, "test_active_units": 0, "test_posterior": "quantised"},  # VQ: kl is -log P(code)
    {},
])
def test_a_healthy_model_or_one_without_a_kl_is_not_warned(metrics):
    assert collapse_warning(metrics) is None and warnings(metrics) == []


def test_test_metrics_win_over_the_training_ones():
    assert collapse_warning({"test_kl": 2.0, "test_active_units": 4, "val_kl": 0.0, "val_active_units": 0}) is None
