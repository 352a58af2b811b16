"""Trains a pythae model (VAE, IWAE or VAMP) on aezoo's Fashion-MNIST splits with networks identical to aezoo's
`conv-vae` (aezoo's own ConvEncoder/ConvDecoder wrapped in pythae's interfaces), and writes the trained weights
under aezoo's parameter names so that `families.py` evaluates both libraries with one evaluator.

Run by benchmarks/families.py with the python of an environment that has pythae installed (it is not an aezoo
dependency):  PYTHON benchmarks/pythae_runner.py MODEL EPOCHS OUT.safetensors [BATCH [LIMIT]]  -> prints one JSON line.
"""
from __future__ import annotations

import json
import sys
import tempfile
import time

import torch
from safetensors.torch import save_file

import aezoo
from aezoo.nets.conv import ConvDecoder, ConvEncoder

SHAPE, LATENT, CHANNELS, BATCH, LR = (1, 28, 28), 16, (32, 64), 64, 1e-3


def build(kind: str, k: int, components: int):
    from pythae.models import IWAE, IWAEConfig, VAE, VAEConfig, VAMP, VAMPConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder

    class Encoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.net = ConvEncoder(SHAPE, CHANNELS, LATENT, variational=True)

        def forward(self, x):
            mu, logvar = self.net(x)
            return ModelOutput(embedding=mu, log_covariance=logvar)

    class Decoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.net = ConvDecoder(SHAPE, CHANNELS, LATENT)

        def forward(self, z):
            return ModelOutput(reconstruction=torch.sigmoid(self.net(z)))

    common = dict(input_dim=SHAPE, latent_dim=LATENT, reconstruction_loss="bce")
    if kind == "vae":
        return VAE(VAEConfig(**common), encoder=Encoder(), decoder=Decoder())
    if kind == "iwae":
        return IWAE(IWAEConfig(**common, number_samples=k), encoder=Encoder(), decoder=Decoder())
    return VAMP(VAMPConfig(**common, number_components=components), encoder=Encoder(), decoder=Decoder())


def train(kind: str, epochs: int, batch: int = BATCH, limit: int | None = None):
    """pythae's TrainingPipeline on aezoo's train split (first ``limit`` images), validating on the val split
    in the same 1:11 share; returns the model, the pipeline's wall seconds and the images trained per epoch."""
    from pythae.pipelines import TrainingPipeline
    from pythae.trainers import BaseTrainerConfig

    torch.manual_seed(0)
    splits = aezoo.load_dataset("fashion-mnist")
    train_x = splits.train.floats(limit)
    val = splits.val.floats(max(1, len(splits.val) * len(train_x) // len(splits.train)))
    model = build(kind, k=5, components=50)
    config = BaseTrainerConfig(output_dir=tempfile.mkdtemp(prefix="pythae-"), num_epochs=epochs, learning_rate=LR,
                               per_device_train_batch_size=batch, per_device_eval_batch_size=1024, no_cuda=True,
                               steps_saving=None)
    start = time.perf_counter()
    TrainingPipeline(model=model, training_config=config)(train_data=train_x, eval_data=val)
    return model, time.perf_counter() - start, len(train_x)


def aezoo_weights(kind: str, model) -> dict[str, torch.Tensor]:
    """The trained pythae model's tensors under aezoo's parameter names (conv-vae, iwae or vamp-vae)."""
    tensors = {f"encoder.{k}": v for k, v in model.encoder.net.state_dict().items()}
    tensors.update({f"decoder.{k}": v for k, v in model.decoder.net.state_dict().items()})
    if kind == "vamp":  # pythae's pseudo-inputs: hardtanh(W e_k + b) for each component k
        layer = model.pseudo_inputs[0]
        tensors["prior.pseudo_inputs"] = (layer.weight.T + layer.bias).reshape(-1, *SHAPE)
    return {k: v.detach().contiguous().cpu() for k, v in tensors.items()}


def main() -> None:
    kind, epochs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else BATCH
    limit = int(sys.argv[5]) if len(sys.argv) > 5 else None
    model, seconds, images = train(kind, epochs, batch, limit)
    save_file(aezoo_weights(kind, model), out)
    print(json.dumps({"model": kind, "epochs": epochs, "train_seconds": round(seconds, 2), "images": images}))


if __name__ == "__main__":
    main()
