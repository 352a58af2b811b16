"""Small shared helpers for the tests: digits splits and a quickly trained model."""
import numpy as np
import torch

from aezoo.api import create_model
from aezoo.data.splits import RawData, Splits, make_splits


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
