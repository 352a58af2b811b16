"""Trains a pythae model on aezoo's Fashion-MNIST splits with networks identical to aezoo's (aezoo's own
ConvEncoder/ConvDecoder, and for VAEGAN aezoo's ImageDiscriminator, wrapped in pythae's interfaces) and the
hyperparameters of the aezoo model it stands beside (read from aezoo's registration), and writes the trained
weights under aezoo's parameter names so that `families.py` evaluates both libraries with one evaluator.

Run by benchmarks/families.py with the python of an environment that has pythae installed (it is not an aezoo
dependency):  PYTHON benchmarks/pythae_runner.py MODEL EPOCHS OUT.safetensors [BATCH [LIMIT]]  -> prints one JSON line.
MODEL is a key of AEZOO (vae, iwae, vamp, miwae, piwae, ciwae, capacity, msssim, vaegan).

pythae 0.1.2's known differences (read in its source; see each `build` branch): MIWAE and PIWAE normalise the
importance weights over M instead of K (faithful only for M = K, which aezoo's defaults use); PIWAE's and VAEGAN's
coupled trainers call backward on each network's loss before stepping, so PIWAE's encoder steps on the MIWAE plus
the IWAE gradient, VAEGAN's decoder on its loss plus the discriminator's (helping it) and its encoder on its loss
plus the decoder's, and VAEGAN skips updates by its equilibrium margin; VAEGAN's discriminator sees prior draws but
not reconstructions as fakes; MSSSIM_VAE pads windows with zeros, picks its scales by image size (4 at 28x28) and
averages MS-SSIM over the batch; DisentangledBetaVAE raises C per epoch, starting at C / (warmup_epoch + 1).
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
from aezoo.nets.discriminators import ImageDiscriminator

SHAPE, LATENT, CHANNELS, BATCH, LR = (1, 28, 28), 16, (32, 64), 64, 1e-3
AEZOO = {"vae": "conv-vae", "iwae": "iwae", "vamp": "vamp-vae", "miwae": "miwae", "piwae": "piwae",
         "ciwae": "ciwae", "capacity": "capacity-vae", "msssim": "msssim-vae", "vaegan": "vae-gan"}
COUPLED = {"piwae", "vaegan"}  # trained by pythae's coupled-optimiser trainers


def defaults(kind: str) -> dict:
    """The hyperparameters of the aezoo model that this pythae model stands beside."""
    return dict(aezoo.model_spec(AEZOO[kind]).defaults)


def build(kind: str, steps_per_epoch: int):
    import pythae.models as pm
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseDiscriminator, BaseEncoder

    hp = defaults(kind)

    class Encoder(BaseEncoder):
        def __init__(self):
            super().__init__()
            self.net = ConvEncoder(SHAPE, CHANNELS, LATENT, gaussian=True)

        def forward(self, x):
            mu, logvar = self.net(x)
            return ModelOutput(embedding=mu, log_covariance=logvar)

    class Decoder(BaseDecoder):
        def __init__(self):
            super().__init__()
            self.net = ConvDecoder(SHAPE, CHANNELS, LATENT)

        def forward(self, z):
            return ModelOutput(reconstruction=torch.sigmoid(self.net(z)))

    class Discriminator(BaseDiscriminator):
        """aezoo's discriminator: a probability and the features of its ``feature_layer``."""

        def __init__(self):
            super().__init__()
            self.net = ImageDiscriminator(SHAPE, hp["disc_channels"], hp["feature_layer"])
            self.depth = len(hp["disc_channels"])

        def forward(self, x, output_layer_levels=None):
            logits, features = self.net(x)
            out = ModelOutput(embedding=torch.sigmoid(logits)[:, None])
            for level in output_layer_levels or ():
                out[f"embedding_layer_{level}"] = features
            return out

    common = dict(input_dim=SHAPE, latent_dim=LATENT, reconstruction_loss="bce")
    nets = dict(encoder=Encoder(), decoder=Decoder())
    if kind == "vae":
        return pm.VAE(pm.VAEConfig(**common), **nets)
    if kind == "iwae":
        return pm.IWAE(pm.IWAEConfig(**common, number_samples=hp["k"]), **nets)
    if kind == "vamp":
        return pm.VAMP(pm.VAMPConfig(**common, number_components=hp["components"]), **nets)
    if kind in ("miwae", "piwae"):  # pythae normalises over M, not K: the same bound only when M = K
        cls, config = (pm.MIWAE, pm.MIWAEConfig) if kind == "miwae" else (pm.PIWAE, pm.PIWAEConfig)
        return cls(config(**common, number_gradient_estimates=hp["m"], number_samples=hp["k"]), **nets)
    if kind == "ciwae":
        return pm.CIWAE(pm.CIWAEConfig(**common, number_samples=hp["k"], beta=hp["beta"]), **nets)
    if kind == "capacity":  # C per epoch: aezoo's capacity_steps rounded to epochs
        warmup = max(0, round(hp["capacity_steps"] / steps_per_epoch))
        return pm.DisentangledBetaVAE(pm.DisentangledBetaVAEConfig(**common, beta=hp["gamma"], C=hp["capacity"],
                                                                   warmup_epoch=warmup), **nets)
    if kind == "msssim":
        return pm.MSSSIM_VAE(pm.MSSSIM_VAEConfig(input_dim=SHAPE, latent_dim=LATENT, beta=hp["beta"],
                                                 window_size=hp["window"]), **nets)
    if kind == "vaegan":  # decoder: (1 - s) features - s GAN, i.e. aezoo's gamma = s / (1 - s)
        scale = hp["gamma"] / (1 + hp["gamma"])
        config = pm.VAEGANConfig(**common, adversarial_loss_scale=scale, reconstruction_layer=hp["feature_layer"])
        return pm.VAEGAN(config, discriminator=Discriminator(), **nets)
    raise SystemExit(f"unknown model {kind!r}; expected one of {', '.join(AEZOO)}")


def trainer_config(kind: str, epochs: int, batch: int):
    from pythae.trainers import (BaseTrainerConfig, CoupledOptimizerAdversarialTrainerConfig,
                                 CoupledOptimizerTrainerConfig)

    common = dict(output_dir=tempfile.mkdtemp(prefix="pythae-"), num_epochs=epochs, per_device_train_batch_size=batch,
                  per_device_eval_batch_size=1024, no_cuda=True, steps_saving=None)
    if kind == "piwae":
        return CoupledOptimizerTrainerConfig(**common, encoder_learning_rate=LR, decoder_learning_rate=LR)
    if kind == "vaegan":
        return CoupledOptimizerAdversarialTrainerConfig(**common, encoder_learning_rate=LR, decoder_learning_rate=LR,
                                                        discriminator_learning_rate=defaults(kind)["disc_lr"])
    return BaseTrainerConfig(**common, learning_rate=LR)


def train(kind: str, epochs: int, batch: int = BATCH, limit: int | None = None):
    """pythae's TrainingPipeline on aezoo's train split (first ``limit`` images), validating on the val split
    in the same 1:11 share; returns the model, the pipeline's wall seconds and the images trained per epoch."""
    from pythae.pipelines import TrainingPipeline

    torch.manual_seed(0)
    splits = aezoo.load_dataset("fashion-mnist")
    train_x = splits.train.floats(limit)
    val = splits.val.floats(max(1, len(splits.val) * len(train_x) // len(splits.train)))
    model = build(kind, steps_per_epoch=-(-len(train_x) // batch))
    start = time.perf_counter()
    TrainingPipeline(model=model, training_config=trainer_config(kind, epochs, batch))(train_data=train_x,
                                                                                       eval_data=val)
    return model, time.perf_counter() - start, len(train_x)


def aezoo_weights(kind: str, model) -> dict[str, torch.Tensor]:
    """The trained pythae model's tensors under the aezoo model's parameter names."""
    tensors = {f"encoder.{k}": v for k, v in model.encoder.net.state_dict().items()}
    tensors.update({f"decoder.{k}": v for k, v in model.decoder.net.state_dict().items()})
    if kind == "vamp":  # pythae's pseudo-inputs: hardtanh(W e_k + b) for each component k
        layer = model.pseudo_inputs[0]
        tensors["prior.pseudo_inputs"] = (layer.weight.T + layer.bias).reshape(-1, *SHAPE)
    if kind == "vaegan":
        tensors.update({f"aux.discriminator.{k}": v for k, v in model.discriminator.net.state_dict().items()})
    return {k: v.detach().contiguous().cpu() for k, v in tensors.items()}


def main() -> None:
    kind, epochs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else BATCH
    limit = int(sys.argv[5]) if len(sys.argv) > 5 else None
    model, seconds, images = train(kind, epochs, batch, limit)
    save_file(aezoo_weights(kind, model), out)
    print(json.dumps({"model": kind, "aezoo_model": AEZOO[kind], "epochs": epochs, "train_seconds": round(seconds, 2),
                      "images": images, "trainer": "coupled" if kind in COUPLED else "base"}))


if __name__ == "__main__":
    main()
