"""Two processes on CPU over loopback (gloo): one run lands, it loads, and it learns like a single process."""
import os
import subprocess
import sys

import pytest
import torch

import aezoo
from aezoo.core.trainer import TrainConfig
from aezoo.registry import Registry
from aezoo.training import train


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch.distributed not built")
def test_two_process_ddp_training_lands_one_run(zoo_home):
    env = {**os.environ, "AEZOO_HOME": str(zoo_home)}
    done = subprocess.run([sys.executable, "-m", "aezoo", "train", "conv-vae", "--epochs", "4", "--nproc", "2",
                           "--device", "cpu"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("saved run") == 1
    runs = Registry(zoo_home).list()
    assert [r.id for r in runs] == ["conv-vae-1"] and runs[0].config["processes"] == 2
    model = aezoo.load("conv-vae")
    with torch.no_grad():
        assert torch.isfinite(model.loss(model.decode(torch.zeros(4, model.latent_dim)))[0])
    single = train("conv-vae", config=TrainConfig(epochs=4, device="cpu"))
    ddp_loss, single_loss = runs[0].metrics["val_loss"], single.run.metrics["val_loss"]
    assert ddp_loss == pytest.approx(single_loss, rel=0.1), (ddp_loss, single_loss)
