#!/usr/bin/env python3
"""Issue 18's trial of the registry (items 1-6 and the registry's parts of 13-14), as an attacker would run it:
concurrent operations by real processes, injected faults (kills, full disks, stalls) and bad inputs (damaged
runs, names, checkpoints, homes), each counted in the issue's terms.

    python tools/registry_trial.py                 # prints the figures and every case that went wrong
    python tools/registry_trial.py --json out.json

Everything happens under a temporary folder; nothing of yours is touched. Takes a few minutes on two cores.
"""
from __future__ import annotations

import argparse
import builtins
import errno
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = str(ROOT / "src")
sys.path.insert(0, SRC)
os.environ.setdefault("OMP_NUM_THREADS", "1")

from click.testing import CliRunner  # noqa: E402

from aezoo.cli import main  # noqa: E402

COUNTS = {k: 0 for k in ("concurrent", "gc_passes", "lost", "duplicated", "faults", "survived", "bad_inputs",
                         "one_line")}
PROBLEMS: list[str] = []


def zoo_in(home: Path, *args: object, input: str | None = None):
    """The CLI in this process, with ``home`` as AEZOO_HOME."""
    return CliRunner().invoke(main, [str(a) for a in args], input=input, env={"AEZOO_HOME": str(home)})


def one_line(result) -> bool:
    """Failed (exit 1 or 2) with no traceback and exactly one ``Error:`` line."""
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    clean = result.exception is None or isinstance(result.exception, SystemExit)
    return result.exit_code in (1, 2) and clean and "Traceback" not in result.output and len(errors) == 1


def python(code: str, home: Path, wait: bool = True, **kw):
    """``code`` in a new process with this checkout's sources and ``home`` as AEZOO_HOME."""
    env = {**os.environ, "PYTHONPATH": SRC, "AEZOO_HOME": str(home), "OMP_NUM_THREADS": "1"}
    args = [sys.executable, "-c", textwrap.dedent(code)]
    if wait:
        return subprocess.run(args, env=env, capture_output=True, text=True, **kw)
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def zoo_proc(home: Path, *args: object, wait: bool = True):
    return python(f"from aezoo.cli import main; main({[str(a) for a in args]!r})", home, wait)


def note(kind: str, ok: bool, what: str) -> None:
    """Count a fault survived or a bad input handled; remember what went wrong."""
    COUNTS["faults" if kind == "fault" else "bad_inputs"] += 1
    COUNTS["survived" if kind == "fault" else "one_line"] += ok
    if not ok:
        PROBLEMS.append(f"{kind}: {what}")


def runs_of(home: Path) -> list[dict]:
    result = zoo_in(home, "runs", "--json")
    try:
        return json.loads(result.output)
    except ValueError:
        PROBLEMS.append(f"zoo runs --json failed: {result.exception!r}")
        return []


# ---------------------------------------------------------------------- setup

def setup(base: Path) -> tuple[Path, Path]:
    """A home with one trained mlp-ae run (mlp-ae-1) and an export of it."""
    home, export = base / "seed-home", base / "seed-export"
    assert zoo_in(home, "train", "mlp-ae", "--epochs", "1").exit_code == 0
    assert zoo_in(home, "export", "mlp-ae-1", export, "--no-samples").exit_code == 0
    return home, export


def fresh(base: Path, seed: Path, name: str) -> Path:
    home = base / name
    shutil.copytree(seed, home)
    return home


# ---------------------------------------------------------------------- concurrent operations

RM_AFTER_GO = """
    import pathlib, time, click
    from aezoo.cli import main
    def confirm(text, **kw):
        print("PROMPT", text, flush=True)
        while not pathlib.Path({go!r}).exists():
            time.sleep(0.05)
        return True
    click.confirm = confirm
    main(["runs", "rm", {ref!r}])
"""


def concurrent_rm_vs_save(base: Path, seed: Path, export: Path) -> None:
    """`zoo runs rm REF` waits at its prompt while another process imports a run of the same model."""
    for i, ref in enumerate(["mlp-ae", "mlp-ae:latest", "keep", "mlp-ae-1"] * 3):
        home = fresh(base, seed, f"rm-{i}")
        if ref == "keep":
            zoo_in(home, "import", export, "--name", "keep")
        before = {r["id"] for r in runs_of(home)}
        go = base / f"go-rm-{i}"
        rm = python(RM_AFTER_GO.format(go=str(go), ref=ref), home, wait=False)
        prompt = rm.stdout.readline()
        confirmed = prompt.split("delete ")[1].split()[0] if "delete " in prompt else None
        imported = zoo_proc(home, "import", export)
        go.touch()
        out = rm.communicate()[0]
        COUNTS["concurrent"] += 2
        after = {r["id"] for r in runs_of(home)}
        new = {line.split()[-1] for line in imported.stdout.splitlines() if line.startswith("imported")}
        deleted = (before | new) - after
        COUNTS["lost"] += len(deleted - {confirmed})  # a run deleted that nobody confirmed
        if deleted - {confirmed} or not new:
            PROBLEMS.append(f"rm {ref} during an import: confirmed {confirmed}, deleted {sorted(deleted)}: {out}")


def concurrent_gc_vs_imports_and_trainings(base: Path, seed: Path, export: Path) -> None:
    """`zoo runs gc --older-than 0` in a loop while 5 imports and 3 trainings run."""
    home = fresh(base, seed, "gc-loop")
    stop = base / "stop-gc"
    loop = python(f"""
        import pathlib
        from aezoo.registry import Registry
        n = 0
        while not pathlib.Path({str(stop)!r}).exists():
            Registry().gc(max_age_s=0)
            n += 1
        print(n)
    """, home, wait=False)
    workers = [zoo_proc(home, "import", export, wait=False) for _ in range(5)]
    workers += [zoo_proc(home, "train", "mlp-ae", "--epochs", "3", wait=False) for _ in range(3)]
    outputs = [w.communicate()[0] for w in workers]
    stop.touch()
    gc_calls = int(loop.communicate()[0].strip() or 0)
    COUNTS["concurrent"] += len(workers) + 1
    COUNTS["gc_passes"] += gc_calls
    failed = [o for w, o in zip(workers, outputs) if w.returncode != 0]
    ids = [r["id"] for r in runs_of(home)]
    COUNTS["lost"] += len(failed) + (1 + len(workers) - len(failed) - len(ids))
    COUNTS["duplicated"] += len(ids) - len(set(ids))
    if failed:
        PROBLEMS.append(f"gc loop ({gc_calls} calls): {len(failed)} of {len(workers)} imports/trainings failed: "
                        f"{failed[0][-300:]}")


def _leave_checkpoint(home: Path, epochs: int = 2) -> str:
    """Train with a full disk at the final save; the checkpoint key it offers."""
    done = python(f"""
        from aezoo.registry import files, store
        def full(path, data):
            raise OSError(28, "No space left on device", str(path))
        files.write_new = store.write_new = full
        from aezoo.cli import main
        main(["train", "mlp-ae", "--epochs", "{epochs}"])
    """, home)
    return (done.stdout + done.stderr).split("--resume ")[1].split()[0]


STALLED_RESUME = """
    import pathlib, time
    from aezoo.registry import store
    real = store.Registry.save
    def stalled(self, *a, **k):
        time.sleep({stall})
        return real(self, *a, **k)
    store.Registry.save = stalled
    from aezoo.cli import main
    main(["train", "--resume", {key!r}])
"""


def concurrent_resumes(base: Path, seed: Path) -> None:
    """Two resumes of one checkpoint at once, one stalled 3 s just before its save (and once without)."""
    home = fresh(base, seed, "resumes")
    for stall in (3, 0, 3):
        key = _leave_checkpoint(home)
        first = python(STALLED_RESUME.format(stall=stall, key=key), home, wait=False)
        time.sleep(1.0)
        second = zoo_proc(home, "train", "--resume", key, wait=False)
        outs = [first.communicate()[0], second.communicate()[0]]
        COUNTS["concurrent"] += 2
        saved = [r["id"] for r in runs_of(home) if r["config"].get("checkpoint_key") == key]
        COUNTS["duplicated"] += max(0, len(saved) - 1)
        COUNTS["lost"] += len(saved) == 0
        if len(saved) != 1:
            PROBLEMS.append(f"two resumes of {key} (stall {stall} s) saved {saved}: {outs}")


def concurrent_mixed(base: Path, seed: Path) -> None:
    """6 processes save, tag, delete (by confirmed id), list and verify at once, racing for one name, while
    gc --older-than 0 loops."""
    home = fresh(base, seed, "mixed")
    stop = base / "stop-mixed"
    loop = python(f"""
        import pathlib
        from aezoo.registry import Registry
        n = 0
        while not pathlib.Path({str(stop)!r}).exists():
            Registry().gc(max_age_s=0)
            n += 1
        print(n)
    """, home, wait=False)
    code = """
        import json, sys, torch
        from aezoo.errors import RegistryError
        from aezoo.registry import Registry
        reg, me, ops, mine = Registry(), int(sys.argv[1]), 0, []
        for i in range(4):
            r = reg.save("mlp-ae", {"w": torch.full((3,), float(me * 100 + i))}, hyperparameters={},
                         input_shape=(1, 8, 8), config={}, metrics={"who": me * 100 + i}, history=[])
            mine.append(r.id); ops += 1
            reg.tag(r.id, f"w{me}"); ops += 1
            reg.list(); reg.verify(r.id); ops += 2
        gone = reg.delete(mine[0], expect=mine[0]); ops += 1
        try:
            reg.save("mlp-ae", {"w": torch.zeros(3)}, hyperparameters={}, input_shape=(1, 8, 8), config={},
                     metrics={"who": -1}, history=[], name="shared")
            named = 1
        except RegistryError:
            named = 0
        ops += 1
        print(json.dumps({"ops": ops, "kept": [m for m in mine if m != gone], "gone": gone, "named": named}))
    """
    env = {**os.environ, "PYTHONPATH": SRC, "AEZOO_HOME": str(home)}
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(w)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for w in range(6)]
    reports = []
    for p in procs:
        out = p.communicate()[0]
        try:
            reports.append(json.loads(out.strip().splitlines()[-1]))
        except (ValueError, IndexError):
            PROBLEMS.append(f"mixed writer failed: {out[-400:]}")
    stop.touch()
    gc_calls = int(loop.communicate()[0].strip() or 0)
    ids = [r["id"] for r in runs_of(home)]
    COUNTS["concurrent"] += sum(r["ops"] for r in reports) + 1
    COUNTS["gc_passes"] += gc_calls
    kept = {k for r in reports for k in r["kept"]}
    COUNTS["lost"] += len(kept - set(ids)) + len([r for r in reports if r["gone"] in ids])
    COUNTS["duplicated"] += len(ids) - len(set(ids)) + max(0, sum(r["named"] for r in reports) - 1)
    if sum(r["named"] for r in reports) != 1 or kept - set(ids):
        PROBLEMS.append(f"mixed: named {sum(r['named'] for r in reports)}, lost {sorted(kept - set(ids))}")


def concurrent_stalled_lock(base: Path, seed: Path, export: Path) -> None:
    """A process holds the registry's lock for 4 s (15 s for an import, which builds its model first); tag, gc
    and an import's final save wait: do they say who?"""
    for args in (("runs", "tag", "mlp-ae-1", "best"), ("runs", "gc"), ("import", str(export))):
        home = fresh(base, seed, f"lock-{args[1] if args[0] == 'runs' else 'import'}")
        holder = python(f"""
            import time
            from aezoo.registry import Registry
            with Registry()._lock():
                print("held", flush=True)
                time.sleep({15 if args[0] == "import" else 4})
        """, home, wait=False)
        holder.stdout.readline()
        waiter = zoo_proc(home, *args)
        holder.communicate()
        COUNTS["concurrent"] += 2
        named = f"held by PID {holder.pid}" in waiter.stderr and waiter.returncode == 0
        note("fault", named, f"stalled lock holder during {args}: {waiter.stderr[-200:]}")


# ---------------------------------------------------------------------- faults

class FullDisk:
    """Writes into files inside ``folder`` fail with ENOSPC after ``room`` bytes (any opener)."""

    def __init__(self, folder: Path, room: int = 64):
        self.folder, self.left, self.real = str(folder.resolve()), [room], io.open

    def __enter__(self):
        real, left, folder = self.real, self.left, self.folder

        class Full:
            def __init__(self, f):
                self.f = f

            def write(self, data):
                if len(data) > left[0]:
                    self.f.write(data[: left[0]])
                    left[0] = 0
                    raise OSError(errno.ENOSPC, "No space left on device")
                left[0] -= len(data)
                return self.f.write(data)

            def fileno(self):
                raise io.UnsupportedOperation("fileno")

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.f.close()

            def __getattr__(self, name):
                return getattr(self.f, name)

        def opening(file, mode="r", *args, **kwargs):
            f = real(file, mode, *args, **kwargs)
            where = os.readlink(f"/proc/self/fd/{file}") if isinstance(file, int) else os.path.abspath(file)
            hit = any(c in mode for c in "wax+") and os.path.dirname(where) == folder
            return Full(f) if hit else f

        builtins.open = io.open = opening
        return self

    def __exit__(self, *exc):
        builtins.open = io.open = self.real


def faults_full_disk_outputs(base: Path, seed: Path) -> None:
    """Every page and figure command writing over an earlier output on a full disk."""
    home = fresh(base, seed, "full-disk")
    out = base / "outputs"
    cases = [("report", "mlp-ae", "-o", out / "old.html"), ("sample", "mlp-ae", "-o", out / "sample.png"),
             ("reconstruct", "mlp-ae", "-o", out / "rec.png"), ("latent", "mlp-ae", "-o", out / "lat.png"),
             ("interpolate", "mlp-ae", "-o", out / "int.png"), ("traverse", "mlp-ae", "-o", out / "trav.png"),
             ("compare", "mlp-ae-1", "mlp-ae", "-o", out / "cmp.html")]
    for args in cases:
        target = Path(args[-1])
        first = zoo_in(home, *args)
        if first.exit_code != 0:
            PROBLEMS.append(f"{args[0]} did not run: {first.output[-300:]}")
            continue
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        with FullDisk(out):
            second = zoo_in(home, *args)
        after = {p.name: p.read_bytes() for p in out.iterdir()}
        ok = second.exit_code == 1 and one_line(second) and after == before and target.name in after
        note("fault", ok, f"{args[0]} -o {target.name} on a full disk: exit {second.exit_code}, "
                          f"kept={after == before}: {second.output[-200:]}")


def faults_killed_exports(base: Path, seed: Path) -> None:
    """`zoo export` killed (SIGKILL, SIGTERM) at three points; the next export into the same folder."""
    home = fresh(base, seed, "exports")
    for sig in (signal.SIGKILL, signal.SIGTERM):
        for at in ("config.json", "README.md", "manifest.json"):
            target = base / f"exp-{sig.name}-{at}"
            killed = python(f"""
                import os, signal
                from aezoo.registry import export
                real = export.write_new
                def dying(path, data):
                    if path.name == {at!r}:
                        os.kill(os.getpid(), {int(sig)})
                    real(path, data)
                export.write_new = dying
                from aezoo.cli import main
                main(["export", "mlp-ae-1", {str(target)!r}, "--no-samples"])
            """, home)
            left = [p for p in base.iterdir() if p.name.startswith(f".{target.name}.")]
            again = zoo_in(home, "export", "mlp-ae-1", target, "--no-samples")
            stale = [p for p in left if p.exists()]
            ok = killed.returncode == -sig and again.exit_code == 0 and not stale and len(left) == 1
            note("fault", ok, f"export killed by {sig.name} at {at}: left {left}, after the next export {stale}")


def faults_killed_saves_and_trainings(base: Path, seed: Path, export: Path) -> None:
    """A save killed in its staging folder; a training killed before and after its first checkpoint; a full
    disk at the final save; a delete killed after its first rename."""
    for nth in (1, 2, 3):
        home = fresh(base, seed, f"kill-save-{nth}")
        killed = python(f"""
            import os, signal
            from aezoo.registry import store
            real, n = store.write_new, [0]
            def dying(path, data):
                n[0] += 1
                if n[0] == {nth}:
                    os.kill(os.getpid(), signal.SIGKILL)
                real(path, data)
            store.write_new = dying
            from aezoo.cli import main
            main(["import", {str(export)!r}])
        """, home)
        gc = zoo_in(home, "runs", "gc")
        staging = list((home / ".staging").iterdir())
        nxt = zoo_in(home, "import", export)
        ok = killed.returncode == -9 and not staging and [r["id"] for r in runs_of(home)] == ["mlp-ae-1", "mlp-ae-3"]
        note("fault", ok, f"import killed at write {nth}: staging after gc {staging}; {gc.output} {nxt.output}")
    for when in ("before", "after"):
        home = fresh(base, seed, f"kill-train-{when}")
        killed = python(f"""
            import os, signal
            from aezoo.api import train
            real = train._write_checkpoint
            def dying(directory, spec, state):
                if {when!r} == "after":
                    real(directory, spec, state)
                if state.epoch >= 1:
                    os.kill(os.getpid(), signal.SIGKILL)
                real(directory, spec, state)
            train._write_checkpoint = dying
            train.train("mlp-ae", epochs=3, checkpoint_every=0, progress=False)  # a checkpoint every epoch
        """, home)
        listed = zoo_in(home, "runs", "checkpoints")
        if when == "before":  # nothing to resume: the empty folder of a dead process goes with gc
            gc = zoo_in(home, "runs", "gc", "--older-than", "0")
            ok = killed.returncode == -9 and not any((home / "checkpoints").iterdir()) and "no checkpoints" in listed.output
            note("fault", ok, f"training killed before its first checkpoint: {listed.output} {gc.output}")
        else:
            key = listed.output.split("--resume ")[-1].split()[0] if "--resume" in listed.output else "?"
            resumed = zoo_in(home, "train", "--resume", key)
            ok = killed.returncode == -9 and "1 of 3 epochs" in listed.output and resumed.exit_code == 0
            note("fault", ok, f"training killed after its first checkpoint: {listed.output} {resumed.output[-200:]}")
    home = fresh(base, seed, "full-final-save")
    key = _leave_checkpoint(home)
    listed = zoo_in(home, "runs", "checkpoints")
    resumed = zoo_in(home, "train", "--resume", key)
    saved = [r["id"] for r in runs_of(home) if r["config"].get("checkpoint_key") == key]
    note("fault", key in listed.output and resumed.exit_code == 0 and len(saved) == 1,
         f"full disk at the final save: {listed.output} {resumed.output[-200:]}")
    home = fresh(base, seed, "kill-delete")
    zoo_in(home, "runs", "tag", "mlp-ae-1", "best")
    killed = python("""
        import os, signal
        real = os.rename
        def dying(*a, **k):
            real(*a, **k)
            os.kill(os.getpid(), signal.SIGKILL)
        os.rename = dying
        from aezoo.registry import Registry
        Registry().delete("mlp-ae-1")
    """, home)
    nxt = zoo_in(home, "import", export)
    best = zoo_in(home, "runs", "show", "mlp-ae:best")
    note("fault", killed.returncode == -9 and "mlp-ae-2" in nxt.output and one_line(best),
         f"delete killed after its first rename: {nxt.output} {best.output}")


# ---------------------------------------------------------------------- bad inputs

DEEP = "[" * 100_000 + "]" * 100_000


def _edit(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    for k, v in changes.items():
        if v is ...:
            data.pop(k, None)
        else:
            data[k] = v
    path.write_text(json.dumps(data))


DAMAGES = {
    "manifest nested 100,000 deep": lambda r: (r / "manifest.json").write_text(DEEP),
    "config nested 100,000 deep": lambda r: (r / "config.json").write_text(DEEP),
    "manifest without id": lambda r: _edit(r / "manifest.json", id=...),
    "manifest id an int": lambda r: _edit(r / "manifest.json", id=5),
    "manifest id of another run": lambda r: _edit(r / "manifest.json", id="mlp-ae-2"),
    "manifest name an int": lambda r: _edit(r / "manifest.json", name=7),
    "manifest name a list": lambda r: _edit(r / "manifest.json", name=["x"]),
    "manifest name an object": lambda r: _edit(r / "manifest.json", name={"a": 1}),
    "manifest version a string": lambda r: _edit(r / "manifest.json", version="1"),
    "manifest format 2": lambda r: _edit(r / "manifest.json", format=2),
    "manifest files a list": lambda r: _edit(r / "manifest.json", files=[]),
    "manifest sha256 an int": lambda r: _edit(r / "manifest.json", files={"model.safetensors": {"sha256": 1}}),
    "manifest bytes a string": lambda r: _edit(r / "manifest.json", files={
        **json.loads((r / "manifest.json").read_text())["files"], "history.json": {"sha256": "0" * 64, "bytes": "9"}}),
    "manifest file ../x": lambda r: _edit(r / "manifest.json", files={
        **json.loads((r / "manifest.json").read_text())["files"], "../x": {"sha256": "0" * 64}}),
    "manifest metrics a list": lambda r: _edit(r / "manifest.json", metrics=[1]),
    "manifest created a list": lambda r: _edit(r / "manifest.json", created=[1]),
    "manifest binary garbage": lambda r: (r / "manifest.json").write_bytes(b"\xff\xfe\x00{"),
    "manifest empty": lambda r: (r / "manifest.json").write_text(""),
    "manifest missing": lambda r: (r / "manifest.json").unlink(),
    "config a list": lambda r: (r / "config.json").write_text("[]"),
    "config hyperparameters a list": lambda r: _edit(r / "config.json", hyperparameters=[1]),
    "config input_shape a string": lambda r: _edit(r / "config.json", input_shape="abc"),
    "config input_shape negative": lambda r: _edit(r / "config.json", input_shape=[1, -8, 8]),
    "config dataset an int": lambda r: _edit(r / "config.json", dataset=3),
    "config checkpoint_key a list": lambda r: _edit(r / "config.json", checkpoint_key=[1]),
}


def bad_damaged_runs(base: Path, seed: Path, export: Path) -> None:
    """Each damage to mlp-ae-1 (mlp-ae-2 healthy): listing, JSON, verify, show of the other run, an unknown
    reference, show of it and rm of it must each be right, with no traceback."""
    for what, damage in DAMAGES.items():
        home = fresh(base, seed, "damage-" + what.replace(" ", "-").replace(",", ""))
        zoo_in(home, "import", export)
        damage(home / "runs" / "mlp-ae" / "1")
        listed, as_json = zoo_in(home, "runs"), zoo_in(home, "runs", "--json")
        verify, other = zoo_in(home, "runs", "verify"), zoo_in(home, "runs", "show", "mlp-ae-2")
        unknown, shown = zoo_in(home, "runs", "show", "nosuch"), zoo_in(home, "runs", "show", "mlp-ae-1")
        removed = zoo_in(home, "runs", "rm", "mlp-ae-1", "--yes")
        checks = {
            "listed DAMAGED": listed.exit_code == 0 and "mlp-ae-1  DAMAGED" in listed.output,
            "json": as_json.exit_code == 0 and [r["id"] for r in json.loads(as_json.output)] == ["mlp-ae-2"],
            "verify BAD": one_line(verify) and "BAD mlp-ae-1" in verify.output,
            "show other": other.exit_code == 0,
            "unknown run": one_line(unknown) and "unknown run 'nosuch'" in unknown.output,
            "show it": one_line(shown) and "damaged" in shown.output,
            "rm it": removed.exit_code == 0 and runs_of(home)[0]["id"] == "mlp-ae-2" and not zoo_in(home, "runs")
            .output.count("DAMAGED"),
        }
        failed = [k for k, ok in checks.items() if not ok]
        note("bad", not failed, f"{what}: {failed}")


def bad_names_refs_checkpoints_homes(base: Path, seed: Path, export: Path) -> None:
    for i, name in enumerate(("conv-vae-2", "mlp-ae-1", "x-7", "mlp-ae", "conv-vae", "../x", "a b", "x" * 65)):
        for args in (("import", export, "--name", name), ("train", "mlp-ae", "--epochs", "1", "--name", name)):
            result = zoo_in(fresh(base, seed, f"name-{i}-{args[0]}"), *args)
            why = ("invalid run name",) if i >= 5 else ("reads as a run id", "is a model's name")
            ok = one_line(result) and "epoch 1/1" not in result.output and any(w in result.output for w in why)
            note("bad", ok, f"{args[0]} --name {name}: {result.output[-200:]}")
    home = fresh(base, seed, "refs")
    zoo_in(home, "runs", "tag", "mlp-ae-1", "best")
    for args in (("runs", "rm", "mlp-ae:best", "--yes"), ("runs", "rm", "nosuch", "--yes"),
                 ("runs", "rm", "mlp-ae:", "--yes"), ("runs", "show", "mlp-ae:99"), ("runs", "untag", "mlp-ae:nope"),
                 ("train", "--resume", "nosuch"), ("runs", "checkpoints", "--rm", "nosuch")):
        result = zoo_in(home, *args)
        note("bad", one_line(result), f"{' '.join(map(str, args))}: {result.output[-200:]}")
    headers = {"length 2**64-1": b"\xff" * 8 + b"{}", "not JSON": (5).to_bytes(8, "little") + b"nope!",
               "no metadata": (2).to_bytes(8, "little") + b"{}", "truncated": b"\x01\x00",
               "metadata without the spec": _header({"__metadata__": {"aezoo_checkpoint": "{}"}}),
               "nested 100,000 deep": len(DEEP).to_bytes(8, "little") + DEEP.encode()}
    for what, data in headers.items():
        home = fresh(base, seed, "ckpt-" + what.replace(" ", "-").replace(",", "").replace("*", ""))
        folder = home / "checkpoints" / "mlp-ae-20260101-000000-0123456789abcdef"
        folder.mkdir(parents=True)
        (folder / "checkpoint.safetensors").write_bytes(data)
        listed, resumed = zoo_in(home, "runs", "checkpoints"), zoo_in(home, "train", "--resume", folder.name)
        ok = listed.exit_code == 0 and "unreadable" in listed.output and one_line(resumed)
        note("bad", ok, f"checkpoint header {what}: {listed.output[-200:]} / {resumed.output[-200:]}")
    gone = base / "dangling"
    gone.symlink_to(base / "nowhere")
    a_file = base / "a-file"
    a_file.write_text("x")
    for home in (gone, a_file):
        for args in (("runs", "gc"), ("runs", "tag", "mlp-ae-1", "b"), ("import", export),
                     ("train", "mlp-ae", "--epochs", "1")):
            result = zoo_in(home, *args)
            note("bad", one_line(result) and "File exists" not in result.output,
                 f"home {home.name}: {' '.join(map(str, args))}: {result.output[-200:]}")


def _header(obj) -> bytes:
    text = json.dumps(obj).encode()
    return len(text).to_bytes(8, "little") + text


# ---------------------------------------------------------------------- main

def main_() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="Also write the figures as JSON to this path.")
    args = parser.parse_args()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="registry-trial-") as tmp:
        base = Path(tmp)
        seed, export = setup(base)
        steps = [concurrent_rm_vs_save, concurrent_gc_vs_imports_and_trainings, concurrent_stalled_lock,
                 concurrent_resumes, concurrent_mixed, faults_full_disk_outputs, faults_killed_exports,
                 faults_killed_saves_and_trainings, bad_damaged_runs, bad_names_refs_checkpoints_homes]
        for step in steps:
            wanted = step.__code__.co_varnames[:step.__code__.co_argcount]
            try:
                step(*[{"base": base, "seed": seed, "export": export}[a] for a in wanted])
            except Exception as exc:  # a step the code under trial broke: counted as a problem, the rest go on
                PROBLEMS.append(f"{step.__name__} crashed: {type(exc).__name__}: {exc}")
    c = COUNTS
    print(f"concurrent operations tried: {c['concurrent']} (and {c['gc_passes']} gc passes looping beside them); "
          f"runs lost: {c['lost']}; duplicated: {c['duplicated']}")
    print(f"faults injected: {c['faults']}; survived cleanly: {c['survived']}")
    print(f"bad inputs tried: {c['bad_inputs']}; handled with one clear line: {c['one_line']}")
    print(f"({time.time() - started:.0f} s)")
    for problem in PROBLEMS:
        print("PROBLEM", problem[:600])
    if args.json:
        Path(args.json).write_text(json.dumps({**COUNTS, "problems": PROBLEMS}, indent=2))
    return 1 if PROBLEMS else 0


if __name__ == "__main__":
    sys.exit(main_())
