"""Tests of the on-disk run registry (aezoo.registry)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors import safe_open

from aezoo.errors import RegistryError
from aezoo.registry import Registry, RunRecord, default_home, verify_state
from aezoo.registry.files import atomic_write_json, sha256_file


def _state(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        "enc.weight": torch.randn(4, 3, generator=g),
        "enc.bias": torch.randn(4, generator=g).half(),
        "dec.weight": torch.randn(3, 4, generator=g).to(torch.bfloat16),
        "steps": torch.tensor([seed, 7], dtype=torch.int64),
        "mask": torch.tensor([True, False]),
    }


def _save(reg: Registry, model: str = "conv-vae", seed: int = 0, **kw) -> RunRecord:
    return reg.save(
        model,
        _state(seed),
        hyperparameters={"latent_dim": 8, "widths": [16, 32]},
        input_shape=(1, 28, 28),
        config={"dataset": "mnist", "epochs": 2},
        metrics={"val_loss": 0.5 + seed},
        history=[{"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 0.5}],
        **kw,
    )


@pytest.fixture
def reg(tmp_path: Path) -> Registry:
    return Registry(tmp_path / "home")


def test_save_get_list_round_trip_is_bit_exact(reg: Registry):
    saved = _save(reg, seed=3, name="first-try")
    got = reg.get("conv-vae")
    assert got == saved and reg.list() == [saved]
    assert (got.id, got.model, got.version, got.name) == ("conv-vae-1", "conv-vae", 1, "first-try")
    assert got.aliases == ["latest"]
    assert got.config == {
        "dataset": "mnist",
        "epochs": 2,
        "model": "conv-vae",
        "hyperparameters": {"latent_dim": 8, "widths": [16, 32]},
        "input_shape": [1, 28, 28],
    }
    assert got.input_shape == (1, 28, 28) and got.hyperparameters["latent_dim"] == 8
    assert got.metrics == {"val_loss": 3.5}
    assert got.history == [{"epoch": 1, "loss": 1.0}, {"epoch": 2, "loss": 0.5}]
    assert got.weights_path == got.path / "model.safetensors" and got.sha256 == sha256_file(got.weights_path)
    loaded, expected = reg.load_state(got), _state(3)
    assert loaded.keys() == expected.keys()
    for key, tensor in expected.items():
        assert loaded[key].dtype == tensor.dtype, key
        assert torch.equal(loaded[key], tensor), key
    as_dict = json.loads(json.dumps(got.as_dict()))
    keys = {"id", "model", "version", "name", "created", "aliases", "path", "sha256", "metrics", "config"}
    assert set(as_dict) == keys
    assert as_dict["path"] == str(got.path) and as_dict["created"].startswith("20")


def test_versions_increment_and_list_sorts_by_model_then_version(reg: Registry):
    ids = [_save(reg, "vae", s).id for s in range(3)] + [_save(reg, "ae").id]
    assert ids == ["vae-1", "vae-2", "vae-3", "ae-1"]
    assert [r.id for r in reg.list()] == ["ae-1", "vae-1", "vae-2", "vae-3"]
    assert [r.id for r in reg.list("vae")] == ["vae-1", "vae-2", "vae-3"]
    assert reg.list("nope") == []


def test_latest_moves_on_save_and_delete(reg: Registry):
    _save(reg)
    assert reg.get("conv-vae:latest").version == 1
    _save(reg, seed=1)
    assert reg.get("conv-vae:latest").version == 2
    assert reg.get("conv-vae:1").aliases == []
    assert reg.delete("conv-vae:latest") == "conv-vae-2"
    assert reg.get("conv-vae:latest").version == 1 and reg.get("conv-vae:1").aliases == ["latest"]
    assert _save(reg, seed=2).version == 3  # a deleted version number is not reused
    reg.delete("conv-vae-3")
    reg.delete("conv-vae")
    assert reg.list() == []
    with pytest.raises(RegistryError):
        reg.get("conv-vae:latest")


def test_user_tags_resolve_move_and_go_away_with_their_run(reg: Registry):
    _save(reg), _save(reg, seed=1), _save(reg, seed=2)
    reg.tag("conv-vae:1", "best-fashion")
    assert reg.get("conv-vae:best-fashion").version == 1
    assert reg.get("conv-vae:1").aliases == ["best-fashion"]
    assert reg.get("conv-vae:3").aliases == ["latest"]
    reg.tag("conv-vae-2", "best-fashion")  # moving a tag
    assert reg.get("conv-vae:best-fashion").version == 2
    reg.tag("conv-vae:2", "keep")
    reg.untag("conv-vae", "keep")
    with pytest.raises(RegistryError, match="no alias 'keep'"):
        reg.get("conv-vae:keep")
    reg.delete("conv-vae:2")
    with pytest.raises(RegistryError, match="no alias 'best-fashion'"):
        reg.get("conv-vae:best-fashion")
    assert not (reg.home / "aliases" / "conv-vae" / "best-fashion").exists()
    with pytest.raises(RegistryError, match="maintained automatically"):
        reg.tag("conv-vae:1", "latest")
    with pytest.raises(RegistryError, match="version number"):
        reg.tag("conv-vae:1", "12")


def test_all_reference_forms_resolve(reg: Registry):
    _save(reg, name="baseline"), _save(reg, seed=1), _save(reg, "vae")
    reg.tag("conv-vae:1", "best-fashion")
    expected = {
        "conv-vae": 2,
        "conv-vae:latest": 2,
        "conv-vae:1": 1,
        "conv-vae:best-fashion": 1,
        "conv-vae-1": 1,
        "conv-vae-2": 2,
        "baseline": 1,
    }
    for ref, version in expected.items():
        record = reg.get(ref)
        assert (record.model, record.version) == ("conv-vae", version), ref
    assert reg.get(reg.get("vae")).id == "vae-1"
    assert torch.equal(reg.load_state("baseline")["enc.weight"], _state(0)["enc.weight"])


def test_unknown_references_say_what_exists(reg: Registry):
    with pytest.raises(RegistryError, match="no runs saved"):
        reg.get("conv-vae")
    _save(reg, name="baseline")
    with pytest.raises(RegistryError, match="'baseline' is already used by conv-vae-1"):
        _save(reg, seed=1, name="baseline")
    second = _save(reg, seed=1)  # the refused save gave its version back: this is conv-vae-2
    manifest = json.loads((second.path / "manifest.json").read_text())
    manifest["name"] = "baseline"  # a registry from before names were enforced
    (second.path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(RegistryError) as err:
        reg.get("conv-vea")
    assert isinstance(err.value, KeyError)
    msg = str(err.value)
    assert "unknown run 'conv-vea'" in msg and "did you mean 'conv-vae'" in msg and "conv-vae-2" in msg
    with pytest.raises(RegistryError, match=r"no version 9 \(versions: 1, 2\)"):
        reg.get("conv-vae:9")
    with pytest.raises(RegistryError, match="ambiguous.*conv-vae-1, conv-vae-2"):
        reg.get("baseline")
    with pytest.raises(RegistryError, match="unknown run"):
        reg.get("conv-vae-7")


BAD_NAMES = ["../x", "a/b", "..", "", ".hidden", "a\\b", "x" * 65, "a b", "c:d", "a..b"]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_bad_run_alias_model_and_checkpoint_names_are_refused(reg: Registry, bad: str):
    with pytest.raises(RegistryError, match="letters, digits"):
        _save(reg, name=bad)
    if bad != "a/b":  # a qualified model name PLUGIN/MODEL: see the next test
        with pytest.raises(RegistryError, match="invalid model name"):
            _save(reg, model=bad)
    with pytest.raises(RegistryError, match="invalid checkpoint key"):
        reg.checkpoint_dir(bad)
    assert reg.list() == []
    _save(reg)
    with pytest.raises(RegistryError, match="invalid alias"):
        reg.tag("conv-vae", bad)
    assert list((reg.home / "runs").iterdir()) == [reg.home / "runs" / "conv-vae"]


def test_a_qualified_model_name_is_stored_in_one_safe_folder(reg: Registry):
    record = _save(reg, model="old-plugin/iwae")
    assert (record.id, record.model, record.path) == ("old-plugin.iwae-1", "old-plugin/iwae",
                                                      reg.home / "runs" / "old-plugin.iwae" / "1")
    assert reg.get("old-plugin/iwae:1") == reg.get("old-plugin.iwae-1") == record
    for bad in ("a/", "/b", "a/b/c", "../b"):
        with pytest.raises(RegistryError, match="invalid model name"):
            _save(reg, model=bad)
    assert sorted(p.name for p in (reg.home / "runs").iterdir()) == ["old-plugin.iwae"]


def test_good_names_are_accepted(reg: Registry):
    assert _save(reg, name="Run_2.final-" + "x" * 50).name.startswith("Run_2")
    reg.tag("conv-vae", "best.v1_x-y")
    assert reg.get("conv-vae:best.v1_x-y").version == 1


def _flip_byte(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", ["flip", "truncate", "tamper-manifest", "missing"])
def test_damaged_weights_raise_registry_error_naming_the_file(reg: Registry, damage: str):
    record = _save(reg)
    weights = record.weights_path
    if damage == "flip":
        _flip_byte(weights, weights.stat().st_size - 3)
    elif damage == "truncate":
        weights.write_bytes(weights.read_bytes()[:-10])
    elif damage == "tamper-manifest":
        manifest = json.loads((record.path / "manifest.json").read_text())
        manifest["files"]["model.safetensors"]["sha256"] = "0" * 64
        atomic_write_json(record.path / "manifest.json", manifest)
    else:
        weights.unlink()
    with pytest.raises(RegistryError) as err:
        reg.load_state("conv-vae")
    msg = str(err.value)
    assert str(weights) in msg
    assert ("missing" if damage == "missing" else "bytes but the manifest says" if damage == "truncate"
            else "sha256 mismatch") in msg


def test_unparsable_header_with_matching_hash_is_reported(reg: Registry):
    record = _save(reg)
    record.weights_path.write_bytes(b"\xff" * 8 + b"not a header")
    manifest = json.loads((record.path / "manifest.json").read_text())
    manifest["files"]["model.safetensors"]["sha256"] = sha256_file(record.weights_path)
    manifest["files"]["model.safetensors"]["bytes"] = record.weights_path.stat().st_size
    atomic_write_json(record.path / "manifest.json", manifest)
    with pytest.raises(RegistryError, match="cannot parse safetensors") as err:
        reg.load_state(record)
    assert str(record.weights_path) in str(err.value)


def test_verify_checks_every_file(reg: Registry):
    record = _save(reg)
    assert reg.verify("conv-vae") == record
    (record.path / "history.json").write_text("[]\n")
    with pytest.raises(RegistryError, match="history.json: 3 bytes but the manifest says"):
        reg.verify("conv-vae")


def test_verify_state_names_key_and_both_shapes(tmp_path: Path):
    state = {"w": torch.zeros(4, 3), "b": torch.zeros(4)}
    verify_state(tmp_path / "m.safetensors", state, {"w": torch.Size([4, 3]), "b": (4,)})
    verify_state(tmp_path / "m.safetensors", state, {"w": torch.ones(4, 3), "b": torch.ones(4)})
    with pytest.raises(RegistryError) as err:
        verify_state(tmp_path / "m.safetensors", state, {"w": (4, 5), "b": (4,)})
    msg = str(err.value)
    assert str(tmp_path / "m.safetensors") in msg and "'w'" in msg and "(4, 3)" in msg and "(4, 5)" in msg
    with pytest.raises(RegistryError, match="missing key 'c'.*unexpected key 'b'"):
        verify_state("m.safetensors", state, {"w": (4, 3), "c": (4,)})


def test_safetensors_header_metadata_is_readable(reg: Registry):
    record = _save(reg)
    with safe_open(str(record.weights_path), framework="pt") as f:
        meta = f.metadata()
    assert meta["model"] == "conv-vae" and meta["run_id"] == "conv-vae-1" and meta["version"] == "1"
    assert json.loads(meta["hyperparameters"]) == {"latent_dim": 8, "widths": [16, 32]}
    assert json.loads(meta["input_shape"]) == [1, 28, 28]
    assert meta["aezoo_version"] and all(isinstance(v, str) for v in meta.values())


def test_incomplete_runs_are_invisible(reg: Registry):
    done = _save(reg)
    # a crashed save: a full copy still in staging, an empty reservation, a version dir without manifest
    staged = reg.home / ".staging" / "conv-vae-2.abc123"
    staged.mkdir(parents=True)
    for f in done.path.iterdir():
        (staged / f.name).write_bytes(f.read_bytes())
    (reg.home / "runs" / "conv-vae" / "2").mkdir()
    half = reg.home / "runs" / "conv-vae" / "3"
    half.mkdir()
    (half / "model.safetensors").write_bytes(done.weights_path.read_bytes())
    (reg.home / "runs" / ".staging").mkdir()
    assert reg.list() == [done]
    assert reg.get("conv-vae").version == 1
    with pytest.raises(RegistryError, match=r"no version 2 \(versions: 1\)"):
        reg.get("conv-vae:2")
    assert _save(reg, seed=1).version == 4
    assert [r.version for r in reg.list()] == [1, 4]


def test_failed_save_leaves_nothing_behind(reg: Registry):
    with pytest.raises(RegistryError, match="str -> torch.Tensor"):
        reg.save("ae", {"w": [1, 2]}, hyperparameters={}, input_shape=(1, 2, 2), config={}, metrics={}, history=[])
    with pytest.raises(RegistryError, match="not JSON-serializable"):
        reg.save(
            "ae", _state(), hyperparameters={}, input_shape=(1, 2, 2), config={"f": object()}, metrics={}, history=[]
        )
    assert reg.list() == []
    assert list((reg.home / "runs" / "ae").iterdir()) == []
    assert list((reg.home / ".staging").iterdir()) == []
    assert _save(reg, "ae").version == 1


def test_update_metrics_merges_and_keeps_manifest_valid(reg: Registry):
    _save(reg)
    record = reg.update_metrics("conv-vae", {"fid": 12.5, "val_loss": 0.25})
    assert record.metrics == {"val_loss": 0.25, "fid": 12.5}
    assert reg.get("conv-vae-1").metrics == record.metrics
    assert reg.verify("conv-vae") == record
    assert [p.name for p in record.path.iterdir() if p.name.startswith(".")] == []


def test_a_version_taken_by_another_process_mid_save_is_skipped(reg: Registry, monkeypatch: pytest.MonkeyPatch):
    """Another process claims version 1 between our directory scan and our reservation. (Versions are reserved
    under the registry's lock, so only a process that does not take it can: an older aezoo, or Windows.)"""
    import aezoo.registry.store as store

    real_mkdir, raced = os.mkdir, []

    def racing_mkdir(path, *args, **kwargs):
        if Path(path) == reg.home / "runs" / "conv-vae" / "1" and not raced:
            raced.append(True)
            real_mkdir(path)  # the other process reserves version 1
        return real_mkdir(path, *args, **kwargs)

    monkeypatch.setattr(store.os, "mkdir", racing_mkdir)
    ours = _save(reg, seed=1)
    assert raced and ours.version == 2 and [r.version for r in reg.list()] == [2]
    assert not any((reg.home / "runs" / "conv-vae" / "1").iterdir())  # the other's reservation, untouched
    assert torch.equal(reg.load_state(ours)["steps"], _state(1)["steps"])


_WORKER = textwrap.dedent(
    """
    import os, sys, time
    import torch
    from aezoo.registry import Registry
    home, seed, go = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    reg = Registry(home)
    open(f"{go}.ready{seed}", "w").close()
    while not os.path.exists(go):  # start both workers' saves at the same moment
        time.sleep(0.001)
    for i in range(5):
        reg.save("conv-vae", {"w": torch.full((3,), float(seed * 100 + i))}, hyperparameters={},
                 input_shape=(1, 2, 2), config={}, metrics={"who": seed, "i": i}, history=[])
    """
)


def test_two_processes_saving_at_once_get_distinct_versions(reg: Registry, tmp_path: Path):
    go = tmp_path / "go"
    procs = [
        subprocess.Popen([sys.executable, "-c", _WORKER, str(reg.home), str(seed), str(go)]) for seed in (1, 2)
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(Path(f"{go}.ready{seed}").exists() for seed in (1, 2)) and time.monotonic() < deadline:
            time.sleep(0.01)
        go.touch()
        assert [p.wait(timeout=60) for p in procs] == [0, 0]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    runs = reg.list()
    assert [r.version for r in runs] == list(range(1, 11))
    values = set()
    for r in runs:
        w = reg.load_state(r)["w"]
        assert torch.equal(w, torch.full((3,), float(r.metrics["who"] * 100 + r.metrics["i"])))
        values.add(float(w[0]))
    assert values == {float(s * 100 + i) for s in (1, 2) for i in range(5)}
    assert reg.get("conv-vae:latest").version == 10


def test_home_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("AEZOO_HOME", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_home() == tmp_path / "explicit" and Registry().home == tmp_path / "explicit"
    monkeypatch.delenv("AEZOO_HOME")
    assert default_home() == tmp_path / "xdg" / "aezoo"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert default_home() == tmp_path / "user" / ".local" / "share" / "aezoo"
    assert Registry(tmp_path / "given").home == tmp_path / "given"
    assert not (tmp_path / "given").exists()  # constructing a Registry writes nothing


def test_checkpoint_dirs(reg: Registry):
    assert reg.list_checkpoints() == []
    path = reg.checkpoint_dir("conv-vae.mnist.s0")
    assert path == reg.home / "checkpoints" / "conv-vae.mnist.s0" and path.is_dir()
    (path / "epoch-1.safetensors").write_bytes(b"x")
    assert reg.checkpoint_dir("conv-vae.mnist.s0") == path and (path / "epoch-1.safetensors").exists()
    assert reg.list_checkpoints() == [path]
    reg.remove_checkpoint("conv-vae.mnist.s0")
    assert reg.list_checkpoints() == [] and reg.list() == []


def test_gc_removes_only_old_leftovers(reg: Registry):
    _save(reg)
    old, new = reg.home / ".staging" / "old", reg.home / ".staging" / "new"
    old.mkdir(), new.mkdir()
    os.utime(old, (0, 0))
    assert reg.gc(max_age_s=3600) == [old]
    assert new.exists() and not old.exists() and len(reg.list()) == 1


def test_importing_the_registry_does_not_import_torch():
    code = "import sys, aezoo.registry; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
