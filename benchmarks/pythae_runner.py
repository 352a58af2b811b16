"""Trains a pythae model on aezoo's Fashion-MNIST splits with networks identical to aezoo's (aezoo's own
ConvEncoder/ConvDecoder, and for VAEGAN aezoo's ImageDiscriminator, wrapped in pythae's interfaces) and the
hyperparameters of the aezoo model it stands beside (read from aezoo's registration), and writes the trained
weights under aezoo's parameter names so that `families.py` evaluates both libraries with one evaluator.

Run by benchmarks/families.py with the python of an environment that has pythae installed (it is not an aezoo
dependency):  PYTHON benchmarks/pythae_runner.py MODEL EPOCHS OUT.safetensors [BATCH [LIMIT]] [--seed N]  -> prints one JSON
line.
MODEL is a key of AEZOO (vae, iwae, vamp, miwae, piwae, ciwae, capacity, msssim, vaegan, iaf, linnf, linnf-radial,
svae). Where pythae's model is another form of the aezoo model (VARIANTS: IAF with affine steps and no context, LinNF
with flow parameters shared by all images), the aezoo side is that variant, trained by families.py in its own row.

pythae 0.1.2's known differences (read in its source; see each `build` branch): MIWAE and PIWAE normalise the
importance weights over M instead of K (faithful only for M = K, which aezoo's defaults use); PIWAE's and VAEGAN's
coupled trainers call backward on each network's loss before stepping, so PIWAE's encoder steps on the MIWAE plus
the IWAE gradient, VAEGAN's decoder on its loss plus the discriminator's (helping it) and its encoder on its loss
plus the decoder's, and VAEGAN skips updates by its equilibrium margin; VAEGAN's discriminator sees prior draws but
not reconstructions as fakes; MSSSIM_VAE pads windows with zeros, picks its scales by image size (4 at 28x28) and
averages MS-SSIM over the batch; DisentangledBetaVAE raises C per epoch, starting at C / (warmup_epoch + 1);
VAE_LinNF's planar flows have no u_hat, so a trained one may fold the space (w^T u <= -1) and then has no density
(reported, not scored), and their log-det adds 1e-4 inside the log; VAE_IAF flips the dims before every MADE block
(so an even number of blocks maps onto aezoo's steps). pythae's HVAE is left out: its position update is not a
leapfrog, its tempering is overwritten and it does not differentiate through the leapfrog's gradients, so it is not
the paper's model (aezoo's `hamiltonian-vae` is).
"""
from __future__ import annotations

import argparse
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
         "ciwae": "ciwae", "capacity": "capacity-vae", "msssim": "msssim-vae", "vaegan": "vae-gan",
         "iaf": "iaf-vae", "linnf": "planar-vae", "linnf-radial": "planar-vae", "svae": "svae"}
VARIANTS = {  # pythae's form of the aezoo model: these hyperparameters differ from the aezoo model's defaults
    "iaf": {"context": 0, "update": "affine"},
    "linnf": {"amortised": False},
    "linnf-radial": {"flow": "radial", "amortised": False},
}
COUPLED = {"piwae", "vaegan"}  # trained by pythae's coupled-optimiser trainers


def defaults(kind: str) -> dict:
    """The hyperparameters of the aezoo model (its variant) that this pythae model stands beside."""
    return {**aezoo.model_spec(AEZOO[kind]).defaults, **VARIANTS.get(kind, {})}


def build(kind: str, steps_per_epoch: int):
    import pythae.models as pm
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseDiscriminator, BaseEncoder

    hp = defaults(kind)

    class Encoder(BaseEncoder):
        def __init__(self, concentration: bool = False):  # SVAE: a direction and a log-concentration
            super().__init__()
            self.net = ConvEncoder(SHAPE, CHANNELS, LATENT, gaussian=not concentration, extra=int(concentration))
            self.second = "log_concentration" if concentration else "log_covariance"

        def forward(self, x):
            mu, second = self.net(x)
            return ModelOutput(embedding=mu, **{self.second: second})

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
    if kind == "iaf":  # blocks of equal widths, an even number of them (see iaf_weights)
        widths, steps = hp["made_hidden"], hp["flow_steps"]
        if steps % 2 or len(set(widths)) != 1:
            raise SystemExit(f"pythae's IAF maps onto aezoo's with an even flow_steps and equal made_hidden widths, "
                             f"got {steps} and {widths}")
        config = pm.VAE_IAF_Config(**common, n_made_blocks=steps, n_hidden_in_made=len(widths), hidden_size=widths[0])
        return pm.VAE_IAF(config, **nets)
    if kind in ("linnf", "linnf-radial"):
        flows = [hp["flow"].capitalize()] * hp["flow_steps"]
        return pm.VAE_LinNF(pm.VAE_LinNF_Config(**common, flows=flows), **nets)
    if kind == "svae":  # kappa = softplus(.) + 1 and the normalised direction, as aezoo's
        return pm.SVAE(pm.SVAEConfig(**common), encoder=Encoder(concentration=True), decoder=nets["decoder"])
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


def train(kind: str, epochs: int, batch: int = BATCH, limit: int | None = None, seed: int = 0):
    """pythae's TrainingPipeline on aezoo's train split (first ``limit`` images), validating on the val split
    in the same 1:11 share; returns the model, the pipeline's wall seconds and the images trained per epoch."""
    from pythae.pipelines import TrainingPipeline

    torch.manual_seed(seed)
    splits = aezoo.load_dataset("fashion-mnist")
    train_x = splits.train.floats(limit)
    val = splits.val.floats(max(1, len(splits.val) * len(train_x) // len(splits.train)))
    model = build(kind, steps_per_epoch=-(-len(train_x) // batch))
    start = time.perf_counter()
    TrainingPipeline(model=model, training_config=trainer_config(kind, epochs, batch))(train_data=train_x,
                                                                                       eval_data=val)
    return model, time.perf_counter() - start, len(train_x)


def iaf_weights(model) -> dict[str, torch.Tensor]:
    """pythae's IAF samples by flipping the dims before each MADE block, last block first; aezoo's even-numbered
    steps read the dims reversed and give them back. For an even number of blocks the two are the same map with
    aezoo's step t = pythae's block T - 1 - t."""
    tensors = {}
    for step, made in enumerate(reversed(model.iaf_flow.net)):
        linears = [layer for layer in made.net if isinstance(layer, torch.nn.Linear)]
        for i, layer in enumerate(linears):
            name = f"posterior.steps.{step}." + ("out" if i == len(linears) - 1 else f"hidden.{i}")
            tensors[f"{name}.weight"], tensors[f"{name}.bias"] = layer.weight, layer.bias
    return tensors


def linnf_weights(model, radial: bool) -> dict[str, torch.Tensor]:
    """pythae's shared flow parameters as aezoo's ``posterior.params`` rows. Planar: aezoo applies u_hat to its raw u,
    so pythae's u (used as it is) becomes the raw u whose u_hat it is, which exists only where w^T u > -1; elsewhere
    pythae's flow folds the space (it has no u_hat) and has no density: refused. Radial: alpha = exp(log_alpha) in
    pythae, softplus(alpha') in aezoo; beta' is the same."""
    rows = []
    for i, flow in enumerate(model.net):
        if radial:
            rows.append(torch.cat([flow.x0[0], torch.log(torch.expm1(flow.log_alpha.exp())), flow.beta]))
            continue
        w, u = flow.w[0], flow.u[0]
        wu = (w * u).sum()
        if wu <= -1:
            raise ValueError(f"pythae's planar flow {i} ended with w^T u = {wu.item():.3f} <= -1: it is not invertible, "
                             f"so its ELBO and IW-NLL are not bounds")
        raw = u + (torch.log(torch.expm1(wu + 1)) - wu) * w / (w * w).sum()  # u_hat(raw) == u
        rows.append(torch.cat([w, raw, flow.b]))
    return {"posterior.params": torch.stack(rows)}


def aezoo_weights(kind: str, model) -> dict[str, torch.Tensor]:
    """The trained pythae model's tensors under the aezoo model's parameter names."""
    tensors = {f"encoder.{k}": v for k, v in model.encoder.net.state_dict().items()}
    tensors.update({f"decoder.{k}": v for k, v in model.decoder.net.state_dict().items()})
    if kind == "vamp":  # pythae's pseudo-inputs: hardtanh(W e_k + b) for each component k
        layer = model.pseudo_inputs[0]
        tensors["prior.pseudo_inputs"] = (layer.weight.T + layer.bias).reshape(-1, *SHAPE)
    if kind == "vaegan":
        tensors.update({f"aux.discriminator.{k}": v for k, v in model.discriminator.net.state_dict().items()})
    if kind == "iaf":
        tensors.update(iaf_weights(model))
    if kind in ("linnf", "linnf-radial"):
        tensors.update(linnf_weights(model, radial=kind == "linnf-radial"))
    return {k: v.detach().contiguous().cpu() for k, v in tensors.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description="train one pythae model and write its weights in aezoo's names")
    ap.add_argument("kind", choices=sorted(AEZOO))
    ap.add_argument("epochs", type=int)
    ap.add_argument("out", help="the .safetensors file to write")
    ap.add_argument("batch", type=int, nargs="?", default=BATCH)
    ap.add_argument("limit", type=int, nargs="?", default=None, help="the first LIMIT training images")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    kind, epochs = a.kind, a.epochs
    model, seconds, images = train(kind, epochs, a.batch, a.limit, a.seed)
    info = {"model": kind, "aezoo_model": AEZOO[kind], "epochs": epochs, "train_seconds": round(seconds, 2),
            "images": images, "seed": a.seed, "trainer": "coupled" if kind in COUPLED else "base"}
    try:
        save_file(aezoo_weights(kind, model), a.out)
    except ValueError as e:  # a trained model aezoo's evaluator cannot score (a planar flow that folds the space)
        info["error"] = str(e)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
