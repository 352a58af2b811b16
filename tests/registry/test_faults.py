"""The registry under faults: damaged runs, processes killed at chosen points, a full disk, concurrent
writers. Each test names the guarantee of docs/reliability.md it checks."""
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from helpers import zoo

import aezoo
from aezoo.errors import RegistryError
from aezoo.registry import Registry

SRC = str(Path(aezoo.__file__).parents[1])


def save(reg, model="mlp-ae", seed=0, **kw):
    return reg.save(model, {"w": torch.full((3,), float(seed))}, hyperparameters={}, input_shape=(1, 8, 8),
                    config={"dataset": "digits"}, metrics={"val_loss": 1.0 + seed}, history=[], **kw)


def run_python(code, home, check=True):
    """Run ``code`` in a fresh process with this checkout's sources and ``home`` as AEZOO_HOME."""
    env = {**os.environ, "PYTHONPATH": SRC, "AEZOO_HOME": str(home)}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env)
    if check:
        assert result.returncode == 0, result.stderr
    return result


KILL_AT = """
    import os, signal
    calls = {{"n": 0}}
    real = os.{fn}

    def killing(*args, **kwargs):
        calls["n"] += 1
        result = real(*args, **kwargs)
        if calls["n"] == {nth}:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    os.{fn} = killing
"""


# ---- 1: one damaged run never breaks the others, and can be removed ----------------------------------------

def edit_json(path, **changes):
    """Rewrite the JSON object in ``path`` with ``changes`` (a value of ``...`` removes the key)."""
    data = json.loads(path.read_text())
    for key, value in changes.items():
        if value is ...:
            data.pop(key)
        else:
            data[key] = value
    path.write_text(json.dumps(data))


DEEP = "[" * 100_000 + "]" * 100_000  # parses to RecursionError, not ValueError

DAMAGES = {
    "config-brace": lambda run: (run / "config.json").write_text("{"),
    "config-list": lambda run: (run / "config.json").write_text("[]"),
    "manifest-missing": lambda run: (run / "manifest.json").unlink(),
    "manifest-corrupt": lambda run: (run / "manifest.json").write_text("[1, 2"),
    "manifest-list": lambda run: (run / "manifest.json").write_text("[]"),
    # issue 18 item 2: each of these was a traceback in `zoo runs`, --json, verify, show or an unknown-run line
    "manifest-deep": lambda run: (run / "manifest.json").write_text(DEEP),
    "config-deep": lambda run: (run / "config.json").write_text(DEEP),
    "manifest-without-id": lambda run: edit_json(run / "manifest.json", id=...),
    "manifest-id-int": lambda run: edit_json(run / "manifest.json", id=5),
    "manifest-id-of-another-run": lambda run: edit_json(run / "manifest.json", id="mlp-ae-2"),
    "manifest-name-int": lambda run: edit_json(run / "manifest.json", name=7),
    "manifest-name-list": lambda run: edit_json(run / "manifest.json", name=["a"]),
    "manifest-created-list": lambda run: edit_json(run / "manifest.json", created=[1]),
    "manifest-bytes-text": lambda run: edit_json(
        run / "manifest.json", files={**json.loads((run / "manifest.json").read_text())["files"],
                                      "model.safetensors": {"sha256": "0" * 64, "bytes": "12"}}),
    "config-hyperparameters-list": lambda run: edit_json(run / "config.json", hyperparameters=[1]),
    "config-input-shape-text": lambda run: edit_json(run / "config.json", input_shape="abc"),
}


def no_traceback(result):
    return result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("damage", DAMAGES)
def test_a_damaged_run_is_listed_apart_and_can_be_removed(zoo_home, damage):
    reg = Registry()
    first, _second = save(reg), save(reg, seed=1)
    DAMAGES[damage](first.path)
    assert [r.id for r in reg.list()] == ["mlp-ae-2"]
    assert [d[0] for d in reg.damaged()] == ["mlp-ae-1"]
    listed = zoo("runs")
    assert listed.exit_code == 0 and "mlp-ae-2" in listed.output and "mlp-ae-1  DAMAGED" in listed.output
    shown = zoo("runs", "show", "mlp-ae:1")
    assert shown.exit_code == 1 and "damaged" in shown.output and "Traceback" not in shown.output
    assert reg.get("mlp-ae").id == "mlp-ae-2"  # the latest healthy run
    as_json = zoo("runs", "--json")
    assert as_json.exit_code == 0 and [r["id"] for r in json.loads(as_json.output)] == ["mlp-ae-2"]
    verified = zoo("runs", "verify")
    assert verified.exit_code == 1 and no_traceback(verified), verified.output
    assert "BAD mlp-ae-1" in verified.output and "ok mlp-ae-2" in verified.output
    assert zoo("runs", "show", "mlp-ae-2").exit_code == 0
    unknown = zoo("runs", "show", "nosuch")
    assert unknown.exit_code == 1 and no_traceback(unknown) and "unknown run 'nosuch'" in unknown.output
    for result in (listed, shown, as_json):
        assert no_traceback(result), result.output
    assert len([line for line in listed.output.splitlines() if "DAMAGED" in line]) == 1
    removed = zoo("runs", "rm", "mlp-ae-1", "--yes")
    assert removed.exit_code == 0, removed.output
    assert reg.damaged() == [] and [r.id for r in reg.list()] == ["mlp-ae-2"]
    assert save(reg, seed=2).version == 3


def test_verify_checks_one_or_all_runs(zoo_home):
    reg = Registry()
    save(reg), save(reg, seed=1)
    ok = zoo("runs", "verify")
    assert ok.exit_code == 0 and "ok mlp-ae-1" in ok.output and "ok mlp-ae-2" in ok.output
    (reg.get("mlp-ae:1").path / "history.json").write_text("[1]\n")
    bad = zoo("runs", "verify")
    assert bad.exit_code == 1 and "BAD mlp-ae-1" in bad.output and "ok mlp-ae-2" in bad.output
    assert zoo("runs", "verify", "mlp-ae-2").exit_code == 0


# ---- 4: a crash in a delete never frees the version nor moves an alias ------------------------------------

def test_a_delete_killed_midway_keeps_its_version_and_aliases_name_nothing_new(zoo_home):
    reg = Registry()
    save(reg)
    reg.tag("mlp-ae-1", "best")
    # killed right after the delete's first rename (before the fix: the run folder moved to the trash)
    killed = run_python(KILL_AT.format(fn="rename", nth=1) + """
    from aezoo.registry import Registry
    Registry().delete("mlp-ae-1")
    """, zoo_home, check=False)
    assert killed.returncode == -signal.SIGKILL
    assert reg.list() == [] and reg.damaged() == []  # gone in one step, not shown as damaged
    assert save(reg, seed=1).version == 2  # the number is not reused
    with pytest.raises(RegistryError, match="no alias 'best'"):
        reg.get("mlp-ae:best")  # does not silently name the new run
    reg.gc(max_age_s=0)
    assert (zoo_home / "runs" / "mlp-ae" / "1").exists() is False or not any((zoo_home / "runs/mlp-ae/1").iterdir())
    assert save(reg, seed=2).version == 3


# ---- 5: a metrics update is one atomic step -----------------------------------------------------------------

def test_a_metrics_update_killed_midway_leaves_a_consistent_run(zoo_home):
    reg = Registry()
    save(reg)
    killed = run_python(KILL_AT.format(fn="replace", nth=1) + """
    from aezoo.registry import Registry
    Registry().update_metrics("mlp-ae-1", {"test_mse": 0.25})
    """, zoo_home, check=False)
    assert killed.returncode == -signal.SIGKILL
    record = reg.verify("mlp-ae-1")  # before the fix: metrics.json replaced, manifest not: corrupt for good
    assert record.metrics["test_mse"] == 0.25 and record.metrics["val_loss"] == 1.0


def test_verify_during_concurrent_metrics_updates_reports_no_corruption(zoo_home):
    reg = Registry()
    save(reg)
    writer = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        from aezoo.registry import Registry
        reg = Registry()
        for i in range(300):
            reg.update_metrics("mlp-ae-1", {"step": i, "pad": "x" * (i % 50)})
    """)], env={**os.environ, "PYTHONPATH": SRC, "AEZOO_HOME": str(zoo_home)})
    checks = false_alarms = 0
    while writer.poll() is None or checks < 50:
        try:
            reg.verify("mlp-ae-1")
        except RegistryError:
            false_alarms += 1
        checks += 1
    assert writer.wait() == 0
    assert false_alarms == 0, f"{false_alarms} false corruptions in {checks} checks"
    assert reg.get("mlp-ae-1").metrics["step"] == 299


# ---- 6 and concurrency: names unique, no run lost -------------------------------------------------------------

def test_concurrent_writers_lose_no_run_and_names_stay_unique(zoo_home):
    writers, each = 6, 3
    code = """
        import sys, torch
        from aezoo.errors import RegistryError
        from aezoo.registry import Registry
        reg, me = Registry(), int(sys.argv[1])
        for i in range({each}):
            reg.save("mlp-ae", {{"w": torch.full((3,), float(me * 100 + i))}}, hyperparameters={{}},
                     input_shape=(1, 8, 8), config={{}}, metrics={{"who": me * 100 + i}}, history=[])
        try:
            reg.save("mlp-ae", {{"w": torch.zeros(3)}}, hyperparameters={{}}, input_shape=(1, 8, 8), config={{}},
                     metrics={{"who": -1}}, history=[], name="y")
            print("named")
        except RegistryError as exc:
            assert "already used" in str(exc), exc
    """.format(each=each)
    env = {**os.environ, "PYTHONPATH": SRC, "AEZOO_HOME": str(zoo_home)}
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(w)], env=env,
                              stdout=subprocess.PIPE, text=True) for w in range(writers)]
    outputs = [p.communicate()[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(o.count("named") for o in outputs) == 1  # exactly one run got the name
    runs = Registry().list()
    whos = sorted(r.metrics["who"] for r in runs if r.metrics["who"] >= 0)
    assert whos == sorted(w * 100 + i for w in range(writers) for i in range(each))  # none lost
    assert len({r.version for r in runs}) == len(runs) == writers * each + 1


def test_import_twice_with_the_same_name_is_refused(zoo_home, tmp_path):
    from aezoo.api.build import create_model
    from aezoo.api.share import export_run

    model = create_model("mlp-ae", input_shape=(1, 8, 8))
    Registry().save("mlp-ae", model.state_dict(), hyperparameters={}, input_shape=(1, 8, 8),
                    config={"dataset": "digits"}, metrics={}, history=[])
    export_run("mlp-ae-1", tmp_path / "x", samples=False)
    assert zoo("import", tmp_path / "x", "--name", "x").exit_code == 0
    again = zoo("import", tmp_path / "x", "--name", "x")
    assert again.exit_code == 1 and "already used by mlp-ae-2" in again.output


# ---- 8: checkpoints after a failure, and cleaning up ---------------------------------------------------------

def test_a_full_disk_at_the_final_save_offers_the_checkpoint_and_resume_saves_once(zoo_home, monkeypatch):
    from aezoo.registry import files

    real = files.write_new

    def full(path, data):
        raise OSError(28, "No space left on device", str(path))

    monkeypatch.setattr(files, "write_new", full)
    monkeypatch.setattr("aezoo.registry.store.write_new", full)
    failed = zoo("train", "mlp-ae", "--epochs", "1")
    assert failed.exit_code == 1 and "Traceback" not in failed.output
    assert "No space left on device" in failed.output and "zoo train --resume mlp-ae-" in failed.output
    key = failed.output.split("--resume ")[1].split()[0]
    assert len(key.rsplit("-", 1)[1]) == 16  # 64 random bits
    assert [p.name for p in Registry().list_checkpoints()] == [key]
    monkeypatch.setattr(files, "write_new", real)
    monkeypatch.setattr("aezoo.registry.store.write_new", real)
    resumed = zoo("train", "--resume", key)
    assert resumed.exit_code == 0, resumed.output
    assert [r.id for r in Registry().list()] == ["mlp-ae-1"] and Registry().list_checkpoints() == []


def test_a_resume_of_an_already_saved_checkpoint_does_not_save_twice(zoo_home, monkeypatch):
    from aezoo.registry import store

    with monkeypatch.context() as patched:
        patched.setattr(store.Registry, "remove_checkpoint", lambda self, key: None)  # "killed" before removal
        assert zoo("train", "mlp-ae", "--epochs", "1").exit_code == 0
    key = Registry().list_checkpoints()[0].name
    again = zoo("train", "--resume", key)
    assert again.exit_code == 1 and "already saved as run mlp-ae-1" in again.output
    assert [r.id for r in Registry().list()] == ["mlp-ae-1"] and Registry().list_checkpoints() == []


def test_empty_checkpoint_folders_are_not_resume_keys(zoo_home):
    reg = Registry()
    reg.checkpoint_dir("mlp-ae-20260101-000000-00")
    assert reg.list_checkpoints() == []
    result = zoo("train", "--resume", "mlp-ae-20260101-000000-00")
    assert result.exit_code == 1 and "unknown checkpoint" in result.output


def test_gc_cleans_what_crashed_processes_left_and_keeps_what_is_live(zoo_home):
    reg = Registry()
    save(reg), save(reg, seed=1), save(reg, seed=2)
    reg.delete("mlp-ae-1"), reg.delete("mlp-ae-3")  # tombstones 1 (below the highest) and 3 (the highest)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    leftovers = [zoo_home / ".staging" / f"mlp-ae-9.{dead}.abc", zoo_home / ".trash" / "x",
                 zoo_home / "checkpoints" / "empty"]
    live = zoo_home / ".staging" / f"mlp-ae-8.{os.getpid()}.abc"
    resumable = reg.checkpoint_dir("resumable")
    (resumable / "checkpoint.safetensors").write_bytes(b"x")
    for path in (*leftovers, live):
        path.mkdir(parents=True)
    half_deleted = zoo_home / "runs" / "mlp-ae" / "2"
    os.rename(half_deleted / "manifest.json", half_deleted / ".deleting")  # a delete killed midway
    old = 0
    for path in (*leftovers, zoo_home / "runs/mlp-ae/1", zoo_home / "runs/mlp-ae/3"):
        os.utime(path, (old, old))
    result = zoo("runs", "gc")
    assert result.exit_code == 0, result.output
    assert not any(p.exists() for p in leftovers) and live.exists() and resumable.exists()
    assert not (zoo_home / "runs/mlp-ae/1").exists() and (zoo_home / "runs/mlp-ae/3").exists()
    assert list(half_deleted.iterdir()) == []
    assert save(reg, seed=4).version == 4


# ---- 11: links and sizes ----------------------------------------------------------------------------------

def test_a_linked_or_resized_file_is_refused_before_hashing(zoo_home, tmp_path):
    reg = Registry()
    record = save(reg)
    target = tmp_path / "elsewhere.json"
    target.write_text((record.path / "history.json").read_text())
    (record.path / "history.json").unlink()
    (record.path / "history.json").symlink_to(target)
    with pytest.raises(RegistryError, match="symbolic link"):
        reg.verify("mlp-ae-1")
    (record.path / "history.json").unlink()
    with open(record.path / "history.json", "wb") as f:
        f.truncate(1 << 34)  # a 16 GiB sparse file: refused by its size at once, never hashed
    with pytest.raises(RegistryError, match="17179869184 bytes but the manifest says"):
        reg.verify("mlp-ae-1")
