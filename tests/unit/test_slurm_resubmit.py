"""The Slurm follower's answer to a job the cluster ended (time limit, preemption, node failure): its stages go
back to pending, to be submitted again from their checkpoints, and their dependants that Slurm cancelled with
DependencyNeverSatisfied wait for the new job instead of failing. No cluster: jobs are SlurmJob objects whose
final state is set here; tests/integration/test_slurm.py runs the real ones."""

from __future__ import annotations

from support.unit_fixtures import registry, spec_data  # noqa: F401  (registry is a fixture)
from xtui.plan import build_plan
from xtui.slurm import SlurmExecutor, SlurmJob
from xtui.spec import parse_spec
from xtui.stage import StageType
from xtui.store import RunStore


def _executor(registry, tmp_path, requeue=3):
    spec = parse_spec(spec_data(seeds=[1], intermediate={"tasks": ["none"], "max_steps": 3},
                                target={"task": "demo_sentiment", "languages": ["de"], "max_steps": 3},
                                fewshot={"shots": [0]}, run={"slurm": {"requeue": requeue}}), "grid.toml")
    plan = build_plan(spec, registry, "grid.toml")
    store = RunStore(tmp_path / "runs")
    store.ensure()
    told = []
    executor = SlurmExecutor(store, plan, lambda *a: None, lambda stage, status, detail: told.append((stage, status, detail)),
                             settings=spec.run.slurm)
    executor.prepare()
    return executor, told


def _ended(executor, stages, job, state, reason=None):
    """Launch ``stages`` as one job (its submission faked) and let it end in ``state``."""
    process = SlurmJob(job)
    process.final = {"state": state, "reason": reason, "exit": "0:15"}
    process.returncode = -15
    executor._start = lambda group, folders, slots, port: (process, {"slurm_job": job}, "")
    running = executor._launch(stages, [None])
    executor.running.append(running)
    return running


def test_a_timed_out_job_is_submitted_again_and_its_cancelled_dependants_wait_for_it(registry, tmp_path):
    executor, told = _executor(registry, tmp_path)
    target = next(s for s in executor.plan.order() if s.type is StageType.TARGET)
    evaluations = [s for s in executor.plan.order() if s.parent == target.hash]
    first = _ended(executor, [target], "41", "TIMEOUT", "TimeLimit")
    executor.status[target.hash] = "running"
    dependants = _ended(executor, evaluations, "42", "CANCELLED", "DependencyNeverSatisfied")
    for running in (first, dependants):
        executor.running.remove(running)
        executor._finish(running)

    assert executor.status[target.hash] == "pending"
    assert all(executor.status[s.hash] == "pending" for s in evaluations), [executor.status[s.hash] for s in evaluations]
    assert not executor.failures
    assert (target, "resubmitted", "Slurm job 41 ended TIMEOUT: submitting it again (1 of 3), from its checkpoint") in told
    assert all(not (executor.store.stage_dir(s.hash) / "running.json").exists() for s in [target, *evaluations])
    assert executor._next_group() == [target]  # submitted again first; the evaluations after it
    assert executor._launch([target], [None]) is not None  # its lock was given back


def test_a_job_that_failed_by_itself_or_ran_out_of_resubmissions_is_not_submitted_again(registry, tmp_path):
    executor, _ = _executor(registry, tmp_path, requeue=1)
    target = next(s for s in executor.plan.order() if s.type is StageType.TARGET)
    running = _ended(executor, [target], "41", "FAILED")
    executor.running.remove(running)
    executor._finish(running)
    assert executor.status[target.hash] == "failed"

    executor.status[target.hash] = "pending"
    for job, expected in (("43", "pending"), ("44", "failed")):  # one resubmission allowed, then it fails
        running = _ended(executor, [target], job, "TIMEOUT")
        executor.running.remove(running)
        executor._finish(running)
        assert executor.status[target.hash] == expected, job
