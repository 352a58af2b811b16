"""How many CPU threads aezoo's heavy work uses: never more than this process may use, the user's count when
they chose one, else measured.

- The CPUs a process may use: its affinity mask (``os.sched_getaffinity``: taskset, containers) bounded by the
  container's CPU quota (cgroup v2 ``cpu.max``, v1 ``cpu.cfs_quota_us``).
- A choice wins: ``--threads N`` (``threads=N`` in Python), else ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS``, else
  a count set with ``torch.set_num_threads`` before aezoo was called (one that differs from torch's default).
- Training (``StepTuner``) times real training steps with each candidate count (1, 2, 4, ... and all usable CPUs)
  and keeps the fastest, the way ``cudnn.benchmark`` picks kernels, then times them again now and then: on a
  shared machine the best count changes as other jobs come and go (a small model on a busy 2-core machine ran
  3x faster on one thread than on two; on the same machine idle, two were faster).
- Evaluation, t-SNE and figures (``cpu_threads``) take as many threads as CPUs are idle right now (sampled from
  /proc/stat), for torch and for the BLAS/OpenMP pools that numpy and scikit-learn use (threadpoolctl).

The thread count changes the order of floating-point sums, so results differ bit-wise between counts: a run
records the counts it trained with, and ``--threads N`` makes a rerun bit-identical.
"""
from __future__ import annotations

import math
import os
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping

CGROUP = Path("/sys/fs/cgroup")
ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")  # what torch (and OpenMP, MKL, OpenBLAS) read at start
GIVEN = "--threads"  # the source of a count passed as --threads N or threads=N


# ---- what this process may use ------------------------------------------------------------------------------

def affinity_cpus() -> int:
    """CPUs in this process's affinity mask (all of the machine's where the platform has no masks)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _cpu_max(folder: Path) -> float | None:
    """cgroup v2: CPUs allowed by ``cpu.max`` ("max 100000" or "QUOTA PERIOD"); None when unlimited or absent."""
    try:
        quota, period = (folder / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        return None


def _cfs_quota(folder: Path) -> float | None:
    """cgroup v1: CPUs allowed by ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us``; None when unlimited (-1) or absent."""
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return quota / period if quota > 0 and period > 0 else None


def _along(base: Path, path: str, read: Callable[[Path], float | None]) -> list[float]:
    """The limits ``read`` finds in the cgroup at ``path`` under ``base`` and in each of its parents."""
    parts = [p for p in path.strip().strip("/").split("/") if p and p != ".."]
    found = (read(base.joinpath(*parts[:i])) for i in range(len(parts), -1, -1))
    return [v for v in found if v is not None]


def cgroup_cpu_limit(root: Path = CGROUP, proc_cgroup: str | None = None) -> float | None:
    """CPUs the container's quota allows this process (the tightest along its cgroup path, v2 or v1), or None
    when there is no quota or none can be read. ``proc_cgroup``: the text of /proc/self/cgroup."""
    if proc_cgroup is None:
        try:
            proc_cgroup = Path("/proc/self/cgroup").read_text()
        except OSError:
            return None
    limits: list[float] = []
    for line in proc_cgroup.splitlines():
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":  # cgroup v2: one unified tree
            limits += _along(root, path, _cpu_max)
        elif "cpu" in controllers.split(","):  # cgroup v1: the cpu controller's own tree
            mounts = [root / name for name in ("cpu", "cpu,cpuacct", "cpuacct,cpu") if (root / name).is_dir()]
            limits += _along(mounts[0], path, _cfs_quota) if mounts else []
    return min(limits) if limits else None


def usable_cpus(affinity: int | None = None, quota: float | None = None) -> int:
    """CPUs this process may keep busy: its affinity mask bounded by the container's quota (rounded down, at
    least 1). The arguments stand in for what is read from the system (tests)."""
    affinity = affinity_cpus() if affinity is None else affinity
    quota = cgroup_cpu_limit() if quota is None else quota
    return max(1, min(affinity, math.floor(quota) if quota is not None else affinity))


def candidates(usable: int) -> tuple[int, ...]:
    """Thread counts worth timing: 1, 2, 4, ... below ``usable``, and ``usable`` itself."""
    counts, n = [], 1
    while n < usable:
        counts.append(n)
        n *= 2
    return (*counts, usable)


def idle_cpus(window: float = 0.1, stat: Callable[[], str] | None = None,
              sleep: Callable[[float], None] = time.sleep) -> float | None:
    """How many of this process's CPUs were idle over the last ``window`` seconds (from /proc/stat), or None
    where that cannot be read. ``stat`` stands in for reading /proc/stat (tests)."""
    read = stat or (lambda: Path("/proc/stat").read_text())
    try:
        mine = os.sched_getaffinity(0)
    except (AttributeError, OSError):
        mine = None

    def sample() -> dict[int, tuple[int, int]]:
        out = {}
        for line in read().splitlines():
            name, *fields = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and (mine is None or int(name[3:]) in mine):
                ticks = [int(f) for f in fields[:8]]  # user nice system idle iowait irq softirq steal
                out[int(name[3:])] = (ticks[3] + ticks[4], sum(ticks))
        return out

    try:
        before = sample()
        sleep(window)
        after = sample()
    except (OSError, ValueError, IndexError):
        return None
    idle = 0.0
    for cpu, (idle1, total1) in after.items():
        idle0, total0 = before.get(cpu, (idle1, total1))
        if total1 > total0:
            idle += (idle1 - idle0) / (total1 - total0)
    return idle if after else None


# ---- the user's choice --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Threads:
    """A thread count and where it came from: a source in ``GIVEN``, ``ENV_VARS`` or ``torch.set_num_threads``
    (the user's), ``idle CPUs``, ``measured``, ``one usable CPU``."""

    count: int
    source: str

    @property
    def users(self) -> bool:
        return self.source in (GIVEN, *ENV_VARS, "torch.set_num_threads")


_active: Threads | None = None  # set by cpu_threads while its block runs, so nested work keeps the same count


def torch_default_threads() -> int:
    """The count torch starts with when nobody chose one: the machine's physical cores (cpuinfo's count, which
    torch's default thread pool takes), else its logical CPUs."""
    cores = set()
    for topology in Path("/sys/devices/system/cpu").glob("cpu[0-9]*/topology"):
        try:
            cores.add(((topology / "physical_package_id").read_text(), (topology / "core_id").read_text()))
        except OSError:
            pass
    logical = os.cpu_count() or 1
    return len(cores) if 0 < len(cores) <= logical else logical


def users_choice(threads: int | None = None, env: Mapping[str, str] | None = None) -> Threads | None:
    """The user's thread count, if they chose one: ``threads`` (``--threads``), an enclosing block's choice,
    ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS``, or ``torch.set_num_threads`` (a count other than torch's default,
    and not one aezoo set)."""
    if threads is not None:
        if int(threads) < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        return Threads(int(threads), GIVEN)
    if _active is not None:
        return _active if _active.users else None
    env = os.environ if env is None else env
    for var in ENV_VARS:
        first = env.get(var, "").split(",")[0].strip()  # OpenMP allows a list for nested levels
        if first.isdigit() and int(first) > 0:
            return Threads(int(first), var)
    if "torch" in sys.modules:
        import torch

        count = torch.get_num_threads()
        if count not in (torch_default_threads(), os.cpu_count()):
            return Threads(count, "torch.set_num_threads")
    return None


# ---- evaluation, t-SNE, figures -----------------------------------------------------------------------------

def inference_threads(threads: int | None = None, idle: Callable[[], float | None] | None = None) -> Threads:
    """The count for work that is not timed step by step: the user's, else the CPUs idle right now (rounded
    down, a CPU at least three-quarters idle counting as free), at least 1, at most the usable CPUs."""
    chosen = users_choice(threads)
    if chosen is not None:
        return chosen
    usable = usable_cpus()
    free = (idle or idle_cpus)()
    count = usable if free is None else max(1, min(usable, math.floor(free + 0.25)))
    return Threads(count, "idle CPUs" if free is not None else "usable CPUs")


@contextmanager
def cpu_threads(threads: int | None = None) -> Iterator[Threads]:
    """For the block: torch's threads and the BLAS/OpenMP pools of numpy and scikit-learn (threadpoolctl) at the
    inference count; restored afterwards. Nested blocks keep the outer block's count unless given one."""
    global _active
    if _active is not None and threads is None:
        yield _active
        return
    import torch
    from threadpoolctl import threadpool_limits

    chosen, before, outer = inference_threads(threads), torch.get_num_threads(), _active
    torch.set_num_threads(chosen.count)
    _active = chosen
    try:
        with threadpool_limits(limits=chosen.count):
            yield chosen
    finally:
        _active = outer
        torch.set_num_threads(before)


# ---- training -----------------------------------------------------------------------------------------------

class StepTuner:
    """The thread count of training steps: a fixed ``count``, or the fastest of ``choices`` timed on real steps.

    A trial runs up to ``rounds`` rounds (the order reversed each round, so drift hits all alike); in each, every
    count runs ``warmup`` untimed steps (its threads start) and then ``timed`` timed ones; a round that leaves one
    count faster than all others by more than ``CLEAR`` ends the trial early. The count with the lowest median
    seconds per image is kept (the fewer threads when within ``TIE`` of the fastest) until the next trial,
    ``recheck`` seconds later; the wait doubles (up to ``MAX_RECHECK``) while the choice holds.
    ``schedule`` lists ``[first step, count]`` at every change: the record a rerun needs. ``count=None`` with no
    ``choices`` leaves the threads as they are (a GPU run)."""

    TIE = 0.03
    CLEAR = 0.25
    MAX_RECHECK = 600.0

    def __init__(self, count: int | None, source: str, choices: tuple[int, ...] = (), *, rounds: int = 2,
                 warmup: int = 1, timed: int = 3, recheck: float = 60.0, clock: Callable[[], float] = time.perf_counter,
                 set_threads: Callable[[int], None] | None = None, get_threads: Callable[[], int] | None = None):
        self.source, self.choices = source, tuple(choices) if count is None and len(choices) > 1 else ()
        self.best = count if count is not None else (choices[-1] if choices else None)  # None: leave as they are
        self.rounds, self.warmup, self.timed, self.first_recheck = rounds, warmup, timed, recheck
        self.clock, self._set_threads, self._get_threads = clock, set_threads, get_threads
        self.recheck, self.next_trial = recheck, -math.inf
        self.plan: list[tuple[int, bool]] = []  # (count, timed) of the coming steps of a trial
        self.samples: dict[int, list[float]] = {}
        self.trials: list[dict[int, float]] = []  # each trial's median seconds per image, per count
        self.schedule: list[list[int]] = []
        self.current: int | None = None
        self.started = 0.0
        self.restore: int | None = None

    @contextmanager
    def applied(self, schedule: list[list[int]] | None = None) -> Iterator["StepTuner"]:
        """While training: the tuner sets the counts (continuing a resumed run's ``schedule``, extended in
        place); afterwards the count from before is back."""
        self.schedule = schedule if schedule is not None else []
        self.restore = self.get_threads() if self.best is not None else None
        try:
            yield self
        finally:
            if self.restore is not None and self.current not in (None, self.restore):
                self.set_threads(self.restore)
            self.current = None

    def before_step(self, step: int) -> None:
        """Set the count for optimiser step ``step`` (a trial's next count, or the chosen one)."""
        if not self.plan and self.choices and self.clock() >= self.next_trial:
            self.plan = self._trial_plan()
        want = self.plan[0][0] if self.plan else self.best
        if want is not None and want != self.current:
            self.set_threads(want)
            self.current = want
            if self.schedule and self.schedule[-1][0] == step:
                self.schedule[-1][1] = want
            elif not self.schedule or self.schedule[-1][1] != want:
                self.schedule.append([step, want])
        if self.plan:
            self.started = self.clock()

    def after_step(self, images: int) -> None:
        """The step ran on ``images`` images: a trial's timed step records its seconds per image."""
        if not self.plan:
            return
        count, timed = self.plan.pop(0)
        if timed:
            self.samples.setdefault(count, []).append((self.clock() - self.started) / max(images, 1))
            if self._clear_winner():
                self.plan = []
        if not self.plan:
            self._decide()

    def _trial_plan(self) -> list[tuple[int, bool]]:
        self.samples = {}
        plan: list[tuple[int, bool]] = []
        for r in range(self.rounds):
            for count in (self.choices if r % 2 == 0 else self.choices[::-1]):
                warm = 0 if plan and plan[-1][0] == count else self.warmup  # still warm from the round before
                plan += [(count, False)] * warm + [(count, True)] * self.timed
        if not self.trials:  # the very first steps pay one-off costs (allocations, lazy set-up): not timed
            plan.insert(0, (plan[0][0], False))
        return plan

    def _clear_winner(self) -> bool:
        """After a full round: one count is faster than every other by more than ``CLEAR`` (no need for more)."""
        if len(self.samples) < len(self.choices) or any(len(s) < self.timed for s in self.samples.values()):
            return False
        medians = sorted(statistics.median(s) for s in self.samples.values())
        return medians[0] * (1 + self.CLEAR) < medians[1]

    def _decide(self) -> None:
        medians = {c: statistics.median(s) for c, s in self.samples.items() if s}
        fastest = min(medians.values())
        best = min(c for c, m in medians.items() if m <= fastest * (1 + self.TIE))
        held = best == self.best and self.trials  # the same choice as last time: wait longer before the next trial
        self.recheck = min(self.recheck * 2, self.MAX_RECHECK) if held else self.first_recheck
        self.best = best
        self.trials.append(medians)
        self.next_trial = self.clock() + self.recheck

    def set_threads(self, count: int) -> None:
        if self._set_threads is None:
            import torch

            self._set_threads = torch.set_num_threads
        self._set_threads(count)

    def get_threads(self) -> int:
        if self._get_threads is None:
            import torch

            self._get_threads = torch.get_num_threads
        return self._get_threads()

    def record(self, steps: int) -> dict[str, object] | None:
        """What a run records: the source, steps trained per count (of ``steps`` in all), and the schedule."""
        if not self.schedule:
            return None
        per_count: dict[str, int] = {}
        ends = [s for s, _ in self.schedule[1:]] + [max(steps, self.schedule[-1][0])]
        for (start, count), end in zip(self.schedule, ends):
            per_count[str(count)] = per_count.get(str(count), 0) + end - start
        main = max(per_count, key=lambda c: per_count[c])
        return {"threads": int(main), "source": self.source, "steps_per_count": per_count,
                "schedule": [list(entry) for entry in self.schedule]}


def training_threads(threads: int | None, device_type: str, processes: int = 1) -> StepTuner:
    """The tuner of a training run: the user's count; on a GPU, torch's threads as they are; with several
    processes on the CPU, the usable CPUs shared among them; else measured over the candidate counts."""
    chosen = users_choice(threads)
    if chosen is not None:
        return StepTuner(chosen.count, chosen.source)
    if device_type != "cpu":
        return StepTuner(None, f"torch's own ({device_type} run)")
    usable = usable_cpus()
    if processes > 1:
        return StepTuner(max(1, usable // processes), f"usable CPUs shared by {processes} processes")
    if usable == 1:
        return StepTuner(1, "one usable CPU")
    return StepTuner(None, "measured", candidates(usable))
