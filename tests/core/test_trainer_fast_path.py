"""The Trainer's fast path: losses summed on the device and read every log_every steps, precision chosen
automatically, freed memory kept by malloc (when `zoo train` asks), batches sliced where the images live,
--profile and --compile."""
import ctypes.util
import math
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from click.testing import CliRunner
from helpers import digits_splits

from aezoo.api.build import create_model
from aezoo.api.train import train
from aezoo.cli import main
from aezoo.core.events import TrainingEvents
from aezoo.core.runtime import memory
from aezoo.core.runtime import precision as precision_mod
from aezoo.core.trainer import TrainConfig, Trainer, resident
from aezoo.errors import TrainingError


class Reads(TrainingEvents):
    def __init__(self):
        self.steps = []

    def step_metrics(self, step, metrics):
        self.steps.append((step, metrics))


def fit(log_every, **config):
    splits = digits_splits()
    torch.manual_seed(0)
    model = create_model("conv-vae", input_shape=splits.input_shape, latent_dim=4)
    reads = Reads()
    result = Trainer(model, splits, TrainConfig(epochs=2, batch_size=64, precision="fp32", log_every=log_every,
                                                **config), progress=reads).fit()
    return model, result, reads


def test_losses_read_every_n_steps_give_the_same_history_and_weights():
    model1, every_step, reads1 = fit(1)
    model7, every_7, reads7 = fit(7)
    for k in model1.state_dict():
        assert torch.equal(model1.state_dict()[k], model7.state_dict()[k]), k  # reading never changes training
    for a, b in zip(every_step.history, every_7.history):
        assert a.keys() == b.keys()
        for k in a:
            if k != "seconds":
                assert a[k] == pytest.approx(b[k], rel=1e-5), k
    batches = math.ceil(len(digits_splits().train) / 64)
    assert len(reads1.steps) == 2 * batches  # one host read per step ...
    assert len(reads7.steps) == 2 * math.ceil(batches / 7)  # ... or per 7 steps, and at each epoch's end
    assert reads7.steps[0][0] == 7 and set(reads7.steps[0][1]) == {"loss", "reconstruction", "kl"}


def test_a_nan_between_reads_names_the_batches_it_lies_between():
    splits = digits_splits()
    model = create_model("vae", input_shape=splits.input_shape)
    config = TrainConfig(epochs=1, lr=1e12, optimizer="sgd", precision="fp32", log_every=5)
    with pytest.raises(TrainingError, match=r"epoch 1, batches \d+-\d+; nothing was saved"):
        Trainer(model, splits, config).fit()


def test_auto_precision_is_bf16_only_on_cpus_with_native_bf16(monkeypatch):
    cpu = torch.device("cpu")
    assert precision_mod.cpu_has_bf16("flags\t\t: fpu sse2 avx512f avx512_bf16\n")
    assert precision_mod.cpu_has_bf16("flags\t\t: fpu amx_bf16 amx_tile\n")
    assert not precision_mod.cpu_has_bf16("flags\t\t: fpu sse2 avx2 avx512f\n")
    monkeypatch.setattr(precision_mod, "cpu_has_bf16", lambda: False)
    assert precision_mod.resolve_precision("auto", cpu) == "fp32"
    assert precision_mod.resolve_precision("bf16", cpu) == "bf16"  # an explicit choice stands
    monkeypatch.setattr(precision_mod, "cpu_has_bf16", lambda: True)
    assert precision_mod.resolve_precision("auto", cpu) == "bf16"
    assert precision_mod.resolve_precision("fp32", cpu) == "fp32"


def test_the_run_records_the_precision_auto_chose(monkeypatch):
    monkeypatch.setattr(precision_mod, "cpu_has_bf16", lambda: False)
    run = train("conv-ae", epochs=1, progress=False).run
    assert run.config["train"]["precision"] == "fp32" and run.metrics["precision"] == "fp32"
    monkeypatch.setattr(precision_mod, "cpu_has_bf16", lambda: True)
    run = train("conv-ae", epochs=1, progress=False).run
    assert run.config["train"]["precision"] == "bf16" and run.metrics["precision"] == "bf16"


def test_opting_out_with_precision_fp32(monkeypatch):
    monkeypatch.setattr(precision_mod, "cpu_has_bf16", lambda: True)
    result = CliRunner().invoke(main, ["train", "conv-ae", "--epochs", "1", "--precision", "fp32"])
    assert result.exit_code == 0, result.output
    assert "fp32" in result.output and "bf16" not in result.output


FAULTS = """
import resource, sys, torch
torch.set_num_threads(1)
if sys.argv[1] == "keep":
    from aezoo.core.runtime.memory import keep_freed_memory
    assert keep_freed_memory()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for i in range(50):
    y = torch.empty(400_000 + 16_384 * i)  # 1.6 MB and growing: each block is larger than any freed before,
    y.fill_(1.0)  # so glibc's dynamic threshold never catches up and a plain process maps it afresh
    del y
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc thresholds")
def test_freed_activations_are_reused_instead_of_faulted_in_again():
    def faults(mode):
        done = subprocess.run([sys.executable, "-c", FAULTS, mode], capture_output=True, text=True, check=True)
        return int(done.stdout.strip().splitlines()[-1])

    plain, kept = faults("plain"), faults("keep")
    assert plain > 50 * 300  # each 1.6 MB block faulted in page by page: measured 39179 every time
    assert kept < plain / 5  # measured 3300-5000: the freed heap is reused and grows by the difference only


class RecordingLibc:
    """Stands in for glibc: records mallopt calls instead of changing this process's allocator."""

    def __init__(self):
        self.calls = []

    def mallopt(self, param, value):
        self.calls.append((param, value))
        return 1


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc thresholds")
def test_aezoo_train_leaves_the_allocator_alone_and_zoo_train_tunes_it(monkeypatch, zoo):
    libc = RecordingLibc()
    monkeypatch.setattr(memory, "_done", False)
    monkeypatch.setattr(memory, "ctypes", SimpleNamespace(CDLL=lambda name: libc, util=ctypes.util))
    train("mlp-ae", epochs=1, progress=False)
    assert libc.calls == []  # a library does not retune its host's malloc
    result = zoo("train", "mlp-ae", "--epochs", 1)
    assert result.exit_code == 0, result.output
    assert libc.calls == [(memory.M_MMAP_THRESHOLD, memory.MMAP_THRESHOLD),
                          (memory.M_TRIM_THRESHOLD, memory.TRIM_THRESHOLD)]


def test_a_cpu_split_is_sliced_where_it_is():
    split = digits_splits().train
    assert resident(split, torch.device("cpu")) is split
    x, _ = next(split.batches(8, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert x.dtype == torch.float32 and 0 <= float(x.min()) and float(x.max()) <= 1


def test_profile_prints_where_the_time_went():
    result = CliRunner().invoke(main, ["train", "conv-ae", "--epochs", "1", "--profile", "--precision", "fp32"])
    assert result.exit_code == 0, result.output
    for phase in ("data", "forward", "backward", "optimiser", "bookkeeping", "validation"):
        assert f"  {phase} " in result.output
    _, result_obj, _ = fit(3, profile=True)
    assert result_obj.profile["backward"] > 0 and result_obj.profile["forward"] > 0


@pytest.mark.slow
def test_compile_trains_to_the_same_kind_of_model_and_reports_its_compile_time():
    model, result, _ = fit(1, compile=True)
    assert result.compile_seconds is not None and result.compile_seconds > 0
    assert result.history[1]["val_loss"] < result.history[0]["val_loss"]
    assert not any(k.startswith("_orig_mod") for k in model.state_dict())


def test_a_resume_continues_at_the_loss_scale_the_grad_scaler_had():
    """fp16 runs only on a GPU; the GradScaler itself runs on the CPU, so it is injected into an fp32 run here."""
    from aezoo.core.checkpoint import state_from_parts, state_to_parts

    splits, saved = digits_splits(), []

    def trainer():
        torch.manual_seed(0)
        model = create_model("vae", input_shape=splits.input_shape)
        on_checkpoint = lambda s: saved.append(state_to_parts(s)) if not saved else None  # noqa: E731
        t = Trainer(model, splits, TrainConfig(epochs=2, batch_size=64, precision="fp32", checkpoint_every=0),
                    on_checkpoint=on_checkpoint)
        t.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**4, growth_interval=2)  # doubles every 2 steps
        return t

    straight = trainer()
    straight.fit()
    tensors, skeleton = saved[0]  # written after epoch 1, through the same flattening as the checkpoint file
    resumed = trainer()
    resumed.fit(state_from_parts({k: v.clone() for k, v in tensors.items()}, skeleton))
    assert skeleton["scaler"]["scale"] > 2.0**4
    assert resumed.scaler.get_scale() == straight.scaler.get_scale()
