"""Stages on several GPUs and many stages on a many-GPU box: ``gpus = N`` in a stage section (not hashed),
the launch config and command of an N-process worker, GPU slots and rendezvous ports of the local executor,
the checks against the machine and against [run.slurm], and the sharding of a batch across processes."""

from __future__ import annotations

import pytest

from support.unit_fixtures import registry, spec_data  # noqa: F401  (registry is a fixture)
from xtui import executor as executor_module
from xtui.batching import LengthGroupedBatchSampler, ShardedBatches
from xtui.errors import SpecError
from xtui.executor import LocalExecutor, capacity, check_local_gpus, launch_config, stage_gpus, worker_command
from xtui.plan import build_plan
from xtui.slurm import check_gpus, job_script
from xtui.spec import parse_spec
from xtui.stage import StageType
from xtui.store import RunStore

SOURCE = "grid.toml"


def spec_of(intermediate_gpus=None, target_gpus=None, fewshot_gpus=None, seeds=(1, 2), **run):
    intermediate = {"tasks": ["none", "demo_nli"], "max_steps": 3}
    target = {"tasks": ["demo_sentiment", "demo_entities"], "languages": ["de"], "max_steps": 3}
    fewshot = {"shots": [0, 4], "shot_sets": 2}
    for section, gpus in ((intermediate, intermediate_gpus), (target, target_gpus), (fewshot, fewshot_gpus)):
        if gpus is not None:
            section["gpus"] = gpus
    return parse_spec(spec_data(seeds=list(seeds), intermediate=intermediate, target=target, fewshot=fewshot,
                                **({"run": run} if run else {})), SOURCE)


def plan_of(registry, **options):
    spec = spec_of(**options)
    return build_plan(spec, registry, SOURCE)


def test_gpus_is_how_a_stage_runs_not_what_it_computes(registry):
    plain = plan_of(registry)
    wide = plan_of(registry, intermediate_gpus=2, target_gpus=4, fewshot_gpus=3)
    assert list(plain.stages) == list(wide.stages)  # the same hashes
    for stage in wide.order():
        expected = {StageType.INTERMEDIATE: 2, StageType.TARGET: 4, StageType.EVALUATE: 4, StageType.FEWSHOT: 3}
        assert stage.run["gpus"] == expected[stage.type]
        assert "gpus" not in stage.content()["training"] if stage.training else True
    assert all(stage.run["gpus"] == 1 for stage in plain.order())


@pytest.mark.parametrize("value", [0, -1, 2.5])
def test_gpus_must_be_a_positive_whole_number(value):
    with pytest.raises(SpecError, match=r"field 'target.gpus'"):
        spec_of(target_gpus=value)


def test_a_stage_may_not_ask_for_more_gpus_than_the_machine_has(registry, monkeypatch):
    plan = plan_of(registry, target_gpus=4)
    with pytest.raises(SpecError) as caught:
        check_local_gpus(plan, SOURCE, gpus=["0", "1"])
    assert str(caught.value) == ("grid.toml: field 'target.gpus' asks for 4 GPUs per stage but this machine has 2 "
                                 "(GPUs 0,1); valid: 1 to 2")
    check_local_gpus(plan, SOURCE, gpus=["0", "1", "2", "3"])
    monkeypatch.delenv("XTUI_CPU_PROCESSES", raising=False)
    with pytest.raises(SpecError, match="has none .*XTUI_CPU_PROCESSES=4"):
        check_local_gpus(plan, SOURCE, gpus=[])
    monkeypatch.setenv("XTUI_CPU_PROCESSES", "2")
    check_local_gpus(plan, SOURCE, gpus=[])  # the CPU runs it as 2 processes


def test_the_plan_says_how_many_stages_run_at_once(registry, monkeypatch):
    monkeypatch.delenv("XTUI_CPU_PROCESSES", raising=False)
    assert capacity(plan_of(registry), gpus=[str(i) for i in range(8)]) == "runs up to 8 stages at once on GPUs 0-7"
    assert capacity(plan_of(registry, target_gpus=4), gpus=[str(i) for i in range(8)]) == (
        "runs up to 8 stages at once on GPUs 0-7; target stages take 4 GPUs each (2 at once)")
    assert capacity(plan_of(registry), gpus=[]) == "runs 1 stage at a time on the CPU"
    monkeypatch.setenv("XTUI_CPU_PROCESSES", "2")
    assert capacity(plan_of(registry), gpus=[]) == "runs 1 stage at a time on the CPU, each as 2 processes (XTUI_CPU_PROCESSES)"


def test_launch_config_and_command_of_several_processes(tmp_path):
    config = launch_config("2,3", 29517, processes=2)
    assert "distributed_type: MULTI_GPU" in config and "num_processes: 2" in config
    assert "gpu_ids: '2,3'" in config and "main_process_port: 29517" in config and "use_cpu: false" in config
    command, env = worker_command([tmp_path / "a"], "2,3", tmp_path / "launch.yaml", processes=2)
    assert command[1:4] == ["-m", "accelerate.commands.launch", "--config_file"]
    assert command[command.index("--num_processes") + 1] == "2" and "--multi_gpu" in command and "--cpu" not in command
    assert env == {}
    # on the CPU: MULTI_CPU and never --cpu / use_cpu (accelerate launch then starts one process)
    config = launch_config(None, 29518, processes=2)
    assert "distributed_type: MULTI_CPU" in config and "use_cpu: false" in config
    command, _ = worker_command([tmp_path / "a"], None, tmp_path / "launch.yaml", processes=2)
    assert "--multi_gpu" in command and "--cpu" not in command
    # one process: unchanged
    assert "distributed_type: 'NO'" in launch_config("0", 1, 1) and "use_cpu: true" in launch_config(None, 1, 1)
    command, env = worker_command([tmp_path / "a"], "0", tmp_path / "launch.yaml")
    assert "accelerate.commands.launch" not in command and env["ACCELERATE_USE_CPU"] == "False"


class FakeProcess:
    count = 0

    def __init__(self):
        FakeProcess.count += 1
        self.pid = 10_000_000 + FakeProcess.count  # no such process
        self.returncode = None

    def poll(self):
        return self.returncode


def executor_of(registry, tmp_path, gpus, monkeypatch, **sections):
    plan = plan_of(registry, **sections)
    store = RunStore(tmp_path / "runs")
    store.ensure()
    executor = LocalExecutor(store, plan, lambda *a: None, lambda *a: None)
    executor.slots = list(gpus)
    started = []

    def start(group, folders, slots, port):
        started.append((group, slots, port))
        return FakeProcess(), {"pid": 1, "pgid": 1}, ""

    monkeypatch.setattr(executor, "_start", start)
    executor.prepare()
    return executor, started


def finish(executor, running):
    running.process.returncode = 0
    executor.running.remove(running)
    for stage in running.stages:
        executor.status[stage.hash] = "done"
    for lock in running.locks:
        lock.release()


def test_independent_stages_fill_the_gpus_one_each(registry, tmp_path, monkeypatch):
    executor, started = executor_of(registry, tmp_path, ["0", "1", "2", "3"], monkeypatch)
    executor._fill()
    # ready at the start: per seed, demo_nli's intermediate stage and the two targets of 'none'
    assert len(started) == 4 and len(executor.running) == 4
    assert sorted(slot for _, slots, _ in started for slot in slots) == ["0", "1", "2", "3"]
    assert len({port for _, _, port in started}) == 4
    assert all(group[0].type in (StageType.INTERMEDIATE, StageType.TARGET) for group, _, _ in started)
    assert executor._free_slots() == []
    finish(executor, executor.running[0])
    executor._fill()
    assert len(started) == 5 and started[-1][1] == started[0][1]  # the freed GPU is taken again


def test_a_wide_stage_reserves_its_gpus_and_is_not_starved(registry, tmp_path, monkeypatch):
    executor, started = executor_of(registry, tmp_path, ["0", "1", "2", "3"], monkeypatch, target_gpus=3,
                                    seeds=[1, 2, 3, 4, 5, 6])
    executor._fill()
    # plan order: seed 1's first target (3 GPUs) starts; its second must wait for 3 free GPUs, and the
    # one-GPU intermediate stages after it in plan order take the free GPU meanwhile, but only len(slots) times
    first, waiting = [s for s in executor.plan.order() if s.type is StageType.TARGET and s.parent is None][:2]
    assert started[0][0] == [first] and len(started[0][1]) == 3
    wide = next(r for r in executor.running if r.stages == [first])
    narrow = []
    while True:
        news = [group for group, _, _ in started[len(narrow) + 1:]]
        assert all(group[0].type is StageType.INTERMEDIATE for group in news)
        narrow += news
        if not news:
            break
        finish(executor, next(r for r in executor.running if r is not wide))
        executor._fill()
    assert len(narrow) == 4 and executor.passed_over[waiting.hash] == 4
    assert len(executor._free_slots()) == 1  # a GPU left idle rather than starving the waiting stage
    finish(executor, wide)
    executor._fill()
    group, slots, _ = started[len(narrow) + 1]
    # 3 GPUs free: the next 3-GPU group in plan order (the first target's evaluations, or the waiting target)
    assert len(slots) == 3 and stage_gpus(group[0]) == 3
    held = [slot for running in executor.running for slot in running.slots]
    assert len(held) == len(set(held)) <= 4  # never two workers on one GPU


def test_running_workers_never_share_a_rendezvous_port(registry, tmp_path, monkeypatch):
    ports = iter([29500, 29500, 29500, 29501, 29502, 29503])
    monkeypatch.setattr(executor_module, "_free_port", lambda: next(ports))
    executor, started = executor_of(registry, tmp_path, ["0", "1", "2", "3"], monkeypatch)
    executor._fill()
    assert [port for _, _, port in started] == [29500, 29501, 29502, 29503]


def test_sharded_batches_cover_each_batch_once_with_the_batch_mean_weights():
    sampler = LengthGroupedBatchSampler([5, 3, 9, 2, 7, 1, 4, 8, 6, 2, 3], batch_size=4, seed=3)
    batches = sampler.batches()
    assert sorted(len(b) for b in batches) == [3, 4, 4]
    parts = [list(ShardedBatches(sampler, 3, index)) for index in range(3)]
    for number, batch in enumerate(batches):
        items = [item for part in parts for item in part[number]]
        real = [i for i, weight, _ in items if weight > 0]
        assert real == batch  # in order, each example once
        assert all(size == len(batch) for _, _, size in items)
        # the processes' weights average to 1 over the batch: the mean of their weighted means is the batch mean
        assert sum(weight for _, weight, _ in (part[number][0] for part in parts)) == pytest.approx(3.0)
    assert len(ShardedBatches(sampler, 3, 0)) == len(sampler)
    # a batch smaller than the processes: the process without an example steps with weight 0
    assert ShardedBatches([[7]], 2, 1).part([7]) == [(7, 0.0, 1)]


def test_slurm_gpus_and_the_stage_sections_gpus_agree(registry):
    with pytest.raises(SpecError) as caught:
        check_gpus(spec_of(target_gpus=4, executor="slurm", slurm={"target": {"gpus": 2}}), SOURCE)
    assert "field 'run.slurm.target.gpus' (2) disagrees with 'target.gpus' (4)" in str(caught.value)
    with pytest.raises(SpecError, match="field 'run.slurm.gpus' asks for 2 GPUs per job.*gpus = 2 in \\[intermediate\\]"):
        check_gpus(spec_of(executor="slurm", slurm={"gpus": 2}), SOURCE)
    spec = spec_of(target_gpus=4, executor="slurm", slurm={"gpus": 1, "target": {"gpus": 4}, "evaluate": {"gpus": 4}})
    check_gpus(spec, SOURCE)
    script = job_script(spec.run.slurm, "target", ["/runs/stages/abc"], [], ["python", "-m", "xtui.worker"], {},
                        processes=4)
    assert "#SBATCH --gres=gpu:4" in script
    script = job_script(spec.run.slurm, "intermediate", ["/runs/stages/abc"], [], ["python"], {})
    assert "#SBATCH --gres=gpu:1" in script
