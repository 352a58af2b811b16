"""Small shared helpers for the tests: the CLI run in-process, digits splits and a quickly trained model."""
from contextlib import contextmanager

import numpy as np
import torch
from click.testing import CliRunner, Result

from aezoo.api.build import create_model
from aezoo.cli import main
from aezoo.data.splits import RawData, Splits, make_splits


def zoo(*args, **kwargs) -> Result:
    """The ``zoo`` command line run in-process with ``args`` (each made a string); ``kwargs`` go to click's
    ``CliRunner.invoke`` (e.g. ``input="y\\n"``, ``catch_exceptions=False``)."""
    return CliRunner().invoke(main, [str(a) for a in args], **kwargs)


def zoo_ok(*args, **kwargs) -> str:
    """``zoo(*args)`` that must exit 0; its output."""
    result = zoo(*args, **kwargs)
    assert result.exit_code == 0, result.output
    return result.output


def digits_splits() -> Splits:
    from sklearn.datasets import load_digits

    d = load_digits()
    images = np.round(d.images * 255 / 16).astype(np.uint8)[:, None]
    return make_splits("digits", RawData(images, d.target.astype(np.int64)))


def quick_train(name: str, splits: Splits, steps: int = 200, latent_dim: int = 2):
    """``steps`` Adam steps of batch 64 over the first 1280 training images (~1 s for a conv-vae on digits)."""
    torch.manual_seed(0)
    model = create_model(name, input_shape=splits.input_shape, latent_dim=latent_dim)
    opt = torch.optim.Adam(model.parameters(), 2e-3)
    x = splits.train.floats()
    for step in range(steps):
        loss, _ = model.loss(x[(step * 64) % 1280:(step * 64) % 1280 + 64])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


def grads_after(loss, modules):
    """Per module: whether ``loss`` gives any of its parameters a non-zero gradient (gradients are cleared first)."""
    for m in modules:
        m.zero_grad(set_to_none=True)
    loss.backward(retain_graph=True)
    out = [any(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in m.parameters()) for m in modules]
    for m in modules:
        m.zero_grad(set_to_none=True)
    return out


def assert_discriminator_isolation(model, x, model_term: str):
    """The discriminator's loss trains only the discriminator; the model's loss (and its adversarial part
    ``model_term`` alone) trains the encoder but never the discriminator."""
    torch.manual_seed(0)
    loss, parts = model.loss(x)
    disc, enc, dec = model.aux["discriminator"], model.encoder, model.decoder
    assert grads_after(parts["discriminator"], [disc, enc, dec]) == [True, False, False]
    assert grads_after(loss, [disc, enc, dec]) == [False, True, True]
    assert grads_after(parts[model_term], [disc, enc, dec]) == [False, True, False]


def assert_trainer_updates_every_optimizer(name: str, splits: Splits, **hyperparameters):
    """One epoch through the Trainer changes the model's and the discriminator's weights, each by its own
    optimiser with its own settings; returns the trainer."""
    from aezoo.core.trainer import TrainConfig, Trainer

    torch.manual_seed(0)
    model = create_model(name, input_shape=splits.input_shape, **hyperparameters)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainer = Trainer(model, splits, TrainConfig(epochs=1, batch_size=256, lr=2e-3))
    trainer.fit()
    groups = model.parameter_groups()
    assert set(trainer.optimizers) == set(groups) == {"model", "discriminator"}
    names = {id(p): k for k, p in model.named_parameters()}
    for group, params in groups.items():
        assert all(trainer.optimizers[group].state[p] for p in params), group  # each stepped by its optimiser
        assert any(not torch.equal(before[names[id(p)]], p) for p in params), group
    return trainer


@contextmanager
def one_thread():
    """Torch on one thread for the block: small networks run several times faster than with threads contending
    on a busy machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def loss_before_and_after_steps(model, x: torch.Tensor, steps: int = 30, lr: float = 3e-3) -> tuple[float, float]:
    """The loss on ``x`` (with the same seeded draws) before and after ``steps`` Adam steps on it."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)

    def fixed_loss() -> float:
        torch.manual_seed(5)
        with torch.no_grad():
            return model.loss(x)[0].item()

    before = fixed_loss()
    for _ in range(steps):
        loss, _ = model.loss(x)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return before, fixed_loss()


def plain_log_weights(model, x: torch.Tensor, draws: int, seed: int) -> torch.Tensor:
    """log w = log p(x|z) + log p(z) - log q(z|x) of ``draws`` z per image (draws, N), written out in plain torch
    for a Gaussian-posterior, Bernoulli-likelihood model under N(0, I), with the draws a seeded model.loss makes:
    eps = torch.randn(draws, N, D) right after torch.manual_seed(seed)."""
    import math

    mu, logvar = model.encoder(x)
    torch.manual_seed(seed)
    eps = torch.randn(draws, *mu.shape)
    z = mu + eps * torch.exp(0.5 * logvar)
    p = torch.sigmoid(model.decoder(z.reshape(-1, mu.shape[1]))).reshape(draws, len(x), -1)
    target = x.reshape(1, len(x), -1)
    log_px = (target * torch.log(p) + (1 - target) * torch.log(1 - p)).sum(-1)
    log_pz = (-0.5 * (z ** 2 + math.log(2 * math.pi))).sum(-1)
    log_qz = (-0.5 * (eps ** 2 + logvar + math.log(2 * math.pi))).sum(-1)
    return log_px + log_pz - log_qz
