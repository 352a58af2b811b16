"""The thread policy (aezoo.core.runtime.threads): candidates bounded by the affinity mask and the container's CPU
quota; the user's count (--threads, OMP_NUM_THREADS, torch.set_num_threads) always wins; training keeps the count
that timed fastest on real steps and re-checks later; evaluation takes the idle CPUs; the run records the counts."""
import os
import subprocess
import sys

import pytest
import torch
from threadpoolctl import threadpool_info

from aezoo.api.train import train
from aezoo.core.checkpoint import state_from_parts, state_to_parts
from aezoo.core.runtime import threads
from aezoo.core.runtime.threads import StepTuner, Threads


@pytest.fixture
def no_choice(monkeypatch):
    """As if the user chose nothing: no OMP_NUM_THREADS / MKL_NUM_THREADS, torch at its default count."""
    for var in threads.ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(threads, "torch_default_threads", torch.get_num_threads)


# ---- what the process may use ---------------------------------------------------------------------------------

def test_usable_cpus_are_the_affinity_mask_bounded_by_the_quota():
    assert threads.usable_cpus(affinity=8, quota=2.5) == 2
    assert threads.usable_cpus(affinity=2, quota=16.0) == 2
    assert threads.usable_cpus(affinity=4, quota=0.5) == 1  # a fraction of a CPU still runs one thread
    assert threads.usable_cpus(affinity=1) == 1
    assert threads.usable_cpus() <= len(os.sched_getaffinity(0))


def test_candidates_are_powers_of_two_up_to_the_usable_cpus():
    assert threads.candidates(1) == (1,)
    assert threads.candidates(2) == (1, 2)
    assert threads.candidates(6) == (1, 2, 4, 6)
    assert threads.candidates(8) == (1, 2, 4, 8)


def test_the_cgroup_quota_is_the_tightest_along_the_process_path(tmp_path):
    own = tmp_path / "system.slice" / "job"
    own.mkdir(parents=True)
    (own / "cpu.max").write_text("300000 100000\n")  # 3 CPUs for the job ...
    (tmp_path / "system.slice" / "cpu.max").write_text("150000 100000\n")  # ... inside a slice of 1.5
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert threads.cgroup_cpu_limit(tmp_path, "0::/system.slice/job\n") == 1.5
    assert threads.cgroup_cpu_limit(tmp_path, "0::/\n") is None  # unlimited at the root
    v1 = tmp_path / "cpu,cpuacct" / "docker"
    v1.mkdir(parents=True)
    (v1 / "cpu.cfs_quota_us").write_text("200000\n")
    (v1 / "cpu.cfs_period_us").write_text("100000\n")
    assert threads.cgroup_cpu_limit(tmp_path, "4:cpu,cpuacct:/docker\n1:name=systemd:/\n") == 2.0
    (v1 / "cpu.cfs_quota_us").write_text("-1\n")
    assert threads.cgroup_cpu_limit(tmp_path, "4:cpu,cpuacct:/docker\n") is None


def test_idle_cpus_come_from_two_samples_of_proc_stat():
    mine = sorted(os.sched_getaffinity(0))[:2]
    samples = iter([
        "".join(f"cpu{c} 100 0 100 800 0 0 0 0 0 0\n" for c in mine),
        # over the window: the first CPU busy all the time, the second idle three-quarters of it
        f"cpu{mine[0]} 200 0 100 800 0 0 0 0 0 0\n" + "".join(f"cpu{c} 125 0 100 875 0 0 0 0 0 0\n" for c in mine[1:]),
    ])
    idle = threads.idle_cpus(stat=lambda: next(samples), sleep=lambda s: None)
    assert idle == pytest.approx(0.0 + (0.75 if len(mine) > 1 else 0.0))


# ---- the user's choice wins -----------------------------------------------------------------------------------

def test_the_users_count_wins_in_order_threads_env_then_torch(no_choice, monkeypatch):
    assert threads.users_choice() is None
    assert threads.users_choice(3) == Threads(3, "--threads")
    assert threads.users_choice(env={"OMP_NUM_THREADS": "2"}) == Threads(2, "OMP_NUM_THREADS")
    assert threads.users_choice(env={"OMP_NUM_THREADS": "4,2"}) == Threads(4, "OMP_NUM_THREADS")  # nested levels
    assert threads.users_choice(env={"MKL_NUM_THREADS": "5"}) == Threads(5, "MKL_NUM_THREADS")
    assert threads.users_choice(3, env={"OMP_NUM_THREADS": "2"}) == Threads(3, "--threads")
    monkeypatch.setattr(threads, "torch_default_threads", lambda: torch.get_num_threads() + 1)
    assert threads.users_choice(env={}) == Threads(torch.get_num_threads(), "torch.set_num_threads")
    with pytest.raises(ValueError, match="at least 1"):
        threads.users_choice(0)


def test_training_follows_the_users_count_and_measures_only_without_one(no_choice, monkeypatch):
    monkeypatch.setattr(threads, "usable_cpus", lambda: 4)
    assert threads.training_threads(None, "cpu").choices == (1, 2, 4)
    given = threads.training_threads(2, "cpu")
    assert (given.best, given.source, given.choices) == (2, "--threads", ())
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    env = threads.training_threads(None, "cpu")
    assert (env.best, env.source, env.choices) == (1, "OMP_NUM_THREADS", ())
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert threads.training_threads(None, "cpu", processes=2).best == 2  # 4 CPUs shared by 2 processes
    gpu = threads.training_threads(None, "cuda")
    assert gpu.best is None and gpu.choices == ()  # the GPU path leaves torch's threads alone
    monkeypatch.setattr(threads, "usable_cpus", lambda: 1)
    assert threads.training_threads(None, "cpu").choices == ()


def test_inference_takes_the_idle_cpus_unless_the_user_chose(no_choice, monkeypatch):
    monkeypatch.setattr(threads, "usable_cpus", lambda: 4)
    assert threads.inference_threads(idle=lambda: 0.1) == Threads(1, "idle CPUs")  # busy: one thread, not zero
    assert threads.inference_threads(idle=lambda: 1.8) == Threads(2, "idle CPUs")
    assert threads.inference_threads(idle=lambda: 1.6) == Threads(1, "idle CPUs")  # a CPU 60 % idle is not free
    assert threads.inference_threads(idle=lambda: 7.9) == Threads(4, "idle CPUs")  # never above the usable CPUs
    assert threads.inference_threads(idle=lambda: None) == Threads(4, "usable CPUs")
    assert threads.inference_threads(3, idle=lambda: 0.0) == Threads(3, "--threads")


def test_cpu_threads_sets_torch_and_the_blas_openmp_pools_and_restores_them(no_choice, monkeypatch):
    monkeypatch.setattr(threads, "idle_cpus", lambda: 1.0)
    before = torch.get_num_threads()
    with threads.cpu_threads(2) as outer:
        assert outer == Threads(2, "--threads") and torch.get_num_threads() == 2
        assert all(pool["num_threads"] == 2 for pool in threadpool_info())
        with threads.cpu_threads() as inner:  # nested work keeps the outer block's count
            assert inner is outer and torch.get_num_threads() == 2
        assert threads.training_threads(None, "cpu").best == 2  # training inside it follows the user's count
    assert torch.get_num_threads() == before
    with threads.cpu_threads() as measured:
        assert measured == Threads(1, "idle CPUs") and torch.get_num_threads() == 1
        assert threads.training_threads(None, "cpu").source != "idle CPUs"  # aezoo's own count is no user choice


# ---- training: the fastest count on real steps ----------------------------------------------------------------

class FakeSteps:
    """A clock and a thread setting: each step takes ``seconds[count]`` at the count set."""

    def __init__(self, seconds):
        self.seconds, self.now, self.count = seconds, 0.0, 8

    def tuner(self, count=None, source="measured", choices=(1, 2), **options):
        return StepTuner(count, source, choices, clock=lambda: self.now, set_threads=self.set,
                         get_threads=lambda: self.count, **options)

    def set(self, count):
        self.count = count

    def run(self, tuner, steps, start=0, images=64, spikes=()):
        for step in range(start, start + steps):
            tuner.before_step(step)
            self.now += self.seconds[self.count] * (10 if step in spikes else 1)
            tuner.after_step(images)


@pytest.mark.parametrize("seconds, best", [({1: 2.0, 2: 1.0}, 2), ({1: 1.0, 2: 3.0}, 1), ({1: 1.0, 2: 0.99}, 1)],
                         ids=["two-faster", "one-faster", "a-tie-goes-to-fewer-threads"])
def test_the_tuner_keeps_the_count_that_timed_fastest(seconds, best):
    fake = FakeSteps(seconds)
    tuner = fake.tuner()
    with tuner.applied():
        fake.run(tuner, 40)
        assert tuner.best == best and fake.count == best
        assert set(tuner.trials[0]) == {1, 2} and len(tuner.trials) == 1
    assert fake.count == 8  # the count from before training is back
    trial = 1 + 2 * 2 * (1 + 3)  # one untimed first step, then 2 rounds x 2 counts x (1 warm-up + 3 timed)
    record = tuner.record(40)
    assert record["source"] == "measured" and record["threads"] == best
    assert sum(record["steps_per_count"].values()) == 40
    assert record["schedule"][0] == [0, 1] and record["schedule"][-1][1] == best
    assert record["schedule"][-1][0] <= trial


def test_a_clear_winner_ends_the_trial_after_one_round_and_a_close_call_takes_two():
    clear = FakeSteps({1: 2.0, 2: 1.0})
    tuner = clear.tuner()
    with tuner.applied():
        clear.run(tuner, 40)
    assert tuner.schedule == [[0, 1], [5, 2]]  # 1 untimed + (1 warm-up + 3 timed) at 1 thread, then 4 at 2: done
    assert all(len(s) == 3 for s in tuner.samples.values())
    close = FakeSteps({1: 1.0, 2: 0.9})
    tuner = close.tuner()
    with tuner.applied():
        close.run(tuner, 40)
    assert tuner.best == 2 and all(len(s) == 6 for s in tuner.samples.values())
    assert tuner.schedule == [[0, 1], [5, 2], [12, 1], [16, 2]]  # round 2 reversed: 2 still warm, then 1


def test_a_one_off_slow_step_does_not_decide():
    fake = FakeSteps({1: 1.0, 2: 0.8})
    tuner = fake.tuner()
    with tuner.applied():
        fake.run(tuner, 40, spikes={7})  # a timed step at 2 threads hit by a hiccup ten times its length
    assert tuner.best == 2


def test_the_tuner_checks_again_later_and_follows_a_change_of_load():
    fake = FakeSteps({1: 1.0, 2: 0.5})
    tuner = fake.tuner(recheck=100.0)
    with tuner.applied():
        fake.run(tuner, 30)
        assert tuner.best == 2 and len(tuner.trials) == 1
        fake.seconds = {1: 1.0, 2: 3.0}  # other jobs started: two threads now contend
        fake.run(tuner, 120, start=30)
        assert len(tuner.trials) == 2 and tuner.best == 1 and fake.count == 1
    counts = [count for _, count in tuner.schedule]
    assert counts[-1] == 1 and 2 in counts


def test_a_fixed_count_is_set_once_and_never_timed():
    fake = FakeSteps({1: 1.0, 2: 0.1})
    tuner = fake.tuner(count=1, source="--threads", choices=())
    with tuner.applied():
        fake.run(tuner, 50)
    assert tuner.trials == [] and tuner.schedule == [[0, 1]]
    assert tuner.record(50) == {"threads": 1, "source": "--threads", "steps_per_count": {"1": 50},
                                "schedule": [[0, 1]]}


def test_a_resumed_run_continues_its_schedule():
    fake = FakeSteps({1: 1.0, 2: 2.0})
    earlier = [[0, 1], [5, 2], [13, 1]]
    tuner = fake.tuner(count=1, source="--threads", choices=())
    with tuner.applied(earlier):
        fake.run(tuner, 10, start=100)
    assert earlier == [[0, 1], [5, 2], [13, 1]]  # the same count continues: nothing to add
    with fake.tuner(count=2, source="--threads", choices=()).applied(earlier) as other:
        fake.run(other, 10, start=110)
    assert earlier[-1] == [110, 2]
    tensors, skeleton = state_to_parts(threads_state(earlier))
    assert state_from_parts(tensors, skeleton).threads == earlier  # the schedule is in the checkpoint


def threads_state(schedule):
    from aezoo.core.trainer import TrainState

    return TrainState(threads=schedule, rng_state=torch.get_rng_state())


# ---- the run records its counts -------------------------------------------------------------------------------

def test_the_run_records_the_thread_count_it_trained_with():
    run = train("mlp-ae", epochs=1, threads=1, progress=False).run  # the test suite runs with OMP_NUM_THREADS=1
    steps = run.metrics["threads"]["steps_per_count"]["1"]
    assert run.metrics["threads"] == {"threads": 1, "source": "--threads", "steps_per_count": {"1": steps},
                                      "schedule": [[0, 1]]}
    assert run.config["train"]["threads"] == 1
    run = train("mlp-ae", epochs=1, progress=False).run
    assert run.metrics["threads"]["source"] == "OMP_NUM_THREADS" and run.config["train"]["threads"] is None


def test_measured_training_times_the_candidates_then_restores_torchs_count(no_choice, monkeypatch):
    monkeypatch.setattr(threads, "usable_cpus", lambda: 2)
    before = torch.get_num_threads()
    run = train("mlp-ae", epochs=1, progress=False).run
    record = run.metrics["threads"]
    assert record["source"] == "measured" and record["threads"] in (1, 2)
    assert {count for _, count in record["schedule"]} == {1, 2}  # both were tried, on real steps
    assert record["schedule"][:2] == [[0, 1], [5, 2]]
    assert torch.get_num_threads() == before


def test_the_test_suite_and_its_subprocesses_run_one_thread():
    assert torch.get_num_threads() == 1
    code = "import os; print(os.environ.get('OMP_NUM_THREADS'), os.environ.get('OPENBLAS_NUM_THREADS'))"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert shown == ["1", "1"]


def test_commands_run_at_the_count_given_with_threads(zoo, monkeypatch):
    from aezoo.api import evaluate
    from aezoo.viz import views

    train("mlp-ae", epochs=1, progress=False)
    seen = []

    def record(*args, **kwargs):
        seen.append((torch.get_num_threads(), {pool["num_threads"] for pool in threadpool_info()}))
        raise ValueError("recorded")

    monkeypatch.setattr(views, "latent", record)
    monkeypatch.setattr(evaluate, "evaluate_and_save", record)
    for args in (["latent", "mlp-ae", "--threads", "2"], ["eval", "mlp-ae", "--threads", "3"]):
        result = zoo(*args)
        assert result.exit_code == 1 and "recorded" in result.output, result.output
    assert seen == [(2, {2}), (3, {3})]
    assert torch.get_num_threads() == 1  # and back to the suite's one thread afterwards
    result = zoo("train", "mlp-ae", "--epochs", "1", "--threads", "2")
    assert result.exit_code == 0, result.output
    assert "2 CPU threads (--threads)" in result.output
