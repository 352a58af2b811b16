"""Trains a pythae model (VAE, IWAE, VAMP, VAE_IAF, VAE_LinNF planar or radial, SVAE) on aezoo's Fashion-MNIST
splits with networks identical to aezoo's (its own ConvEncoder/ConvDecoder wrapped in pythae's interfaces), and writes
the trained weights under the parameter names of the aezoo model in PAIRS that computes the same thing, so that
`families.py` evaluates both libraries with one evaluator. pythae's HVAE is left out: its position update is not a
leapfrog and it does not differentiate through the leapfrog's gradients, so it is not the paper's model
(aezoo's `hamiltonian-vae` is).

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
MADE_HIDDEN, FLOW_STEPS = (64, 64), 4  # VAE_IAF: 2 MADE blocks of these widths; VAE_LinNF: this many flows

PAIRS = {  # pythae model -> the aezoo model (and its hyperparameters) with the same networks and the same maths
    "vae": ("conv-vae", {}),
    "iwae": ("iwae", {"k": 5}),
    "vamp": ("vamp-vae", {"components": 50}),
    "iaf": ("iaf-vae", {"flow_steps": 2, "made_hidden": MADE_HIDDEN, "context": 0, "update": "affine"}),
    "linnf": ("planar-vae", {"flow": "planar", "flow_steps": FLOW_STEPS, "amortised": False}),
    "linnf-radial": ("planar-vae", {"flow": "radial", "flow_steps": FLOW_STEPS, "amortised": False}),
    "svae": ("svae", {}),
}


def build(kind: str, k: int, components: int):
    from pythae.models import (IWAE, SVAE, VAE, VAE_IAF, VAE_LinNF, VAMP, IWAEConfig, SVAEConfig, VAE_IAF_Config,
                               VAE_LinNF_Config, VAEConfig, VAMPConfig)
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder

    class Encoder(BaseEncoder):
        def __init__(self, concentration: bool = False):
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

    common = dict(input_dim=SHAPE, latent_dim=LATENT, reconstruction_loss="bce")
    if kind == "vae":
        return VAE(VAEConfig(**common), encoder=Encoder(), decoder=Decoder())
    if kind == "iwae":
        return IWAE(IWAEConfig(**common, number_samples=k), encoder=Encoder(), decoder=Decoder())
    if kind == "iaf":
        config = VAE_IAF_Config(**common, n_made_blocks=2, n_hidden_in_made=len(MADE_HIDDEN), hidden_size=MADE_HIDDEN[0])
        return VAE_IAF(config, encoder=Encoder(), decoder=Decoder())
    if kind in ("linnf", "linnf-radial"):
        flows = ["Radial" if kind == "linnf-radial" else "Planar"] * FLOW_STEPS
        return VAE_LinNF(VAE_LinNF_Config(**common, flows=flows), encoder=Encoder(), decoder=Decoder())
    if kind == "svae":
        return SVAE(SVAEConfig(**common), encoder=Encoder(concentration=True), decoder=Decoder())
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


def iaf_weights(model) -> dict[str, torch.Tensor]:
    """pythae's IAF samples by flipping the dims before each MADE block, last block first: aezoo's step 0 (which
    reads the dims reversed, then gives them back) is pythae's last block, its step 1 the block before (2 blocks)."""
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
            alpha = flow.log_alpha.exp()
            rows.append(torch.cat([flow.x0[0], torch.log(torch.expm1(alpha)), flow.beta]))
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
    """The trained pythae model's tensors under the parameter names of its aezoo pair (PAIRS)."""
    tensors = {f"encoder.{k}": v for k, v in model.encoder.net.state_dict().items()}
    tensors.update({f"decoder.{k}": v for k, v in model.decoder.net.state_dict().items()})
    if kind == "vamp":  # pythae's pseudo-inputs: hardtanh(W e_k + b) for each component k
        layer = model.pseudo_inputs[0]
        tensors["prior.pseudo_inputs"] = (layer.weight.T + layer.bias).reshape(-1, *SHAPE)
    if kind == "iaf":
        tensors.update(iaf_weights(model))
    if kind in ("linnf", "linnf-radial"):
        tensors.update(linnf_weights(model, radial=kind == "linnf-radial"))
    return {k: v.detach().contiguous().cpu() for k, v in tensors.items()}


def main() -> None:
    kind, epochs, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    batch = int(sys.argv[4]) if len(sys.argv) > 4 else BATCH
    limit = int(sys.argv[5]) if len(sys.argv) > 5 else None
    model, seconds, images = train(kind, epochs, batch, limit)
    info = {"model": kind, "epochs": epochs, "train_seconds": round(seconds, 2), "images": images}
    try:
        save_file(aezoo_weights(kind, model), out)
    except ValueError as e:  # a trained model aezoo's evaluator cannot score (a planar flow that folds the space)
        info["error"] = str(e)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
