"""The batch script a stage's job runs (no cluster needed; tests/integration/test_slurm.py runs them on a real one)."""

from __future__ import annotations

import signal
import subprocess

from xtui.slurm import job_script
from xtui.spec import Slurm

SETTINGS = Slurm.model_validate({
    "partition": "gpu", "account": "nlp", "qos": "normal", "time": "2:00:00", "cpus": 4, "mem": "16G",
    "sbatch": ["--constraint=a100", "--mail-type=FAIL"], "setup": "module load cuda/12.4\nsource ~/xtui/bin/activate",
    "target": {"time": "8:00:00", "gpus": 1, "mem": "32G"},
})


def _options(script: str) -> list:
    return [line.removeprefix("#SBATCH ") for line in script.splitlines() if line.startswith("#SBATCH ")]


def test_a_stage_type_section_overrides_the_defaults_and_the_rest_apply():
    assert SETTINGS.resources("target") == {"time": "8:00:00", "gpus": 1, "cpus": 4, "mem": "32G"}
    assert SETTINGS.resources("fewshot") == {"time": "2:00:00", "gpus": None, "cpus": 4, "mem": "16G"}


def test_the_script_asks_for_the_resources_waits_for_the_parent_and_runs_the_worker(tmp_path):
    folders = [tmp_path / "abcdef0123456789", tmp_path / "fedcba9876543210"]
    script = job_script(SETTINGS, "target", folders, ["41"], ["/venv/bin/python", "-m", "xtui.worker", *folders],
                        {"PYTHONUNBUFFERED": "1", "ODD": "a b"})
    options = _options(script)
    assert "--job-name=xtui-target-abcdef012345" in options
    assert f"--output={folders[0] / 'worker.log'}" in options and "--open-mode=append" in options
    for option in ("--partition=gpu", "--account=nlp", "--qos=normal", "--time=8:00:00", "--cpus-per-task=4",
                   "--mem=32G", "--gres=gpu:1", "--dependency=afterok:41", "--kill-on-invalid-dep=yes",
                   "--constraint=a100", "--mail-type=FAIL"):
        assert option in options, option
    body = script.split("\n\n", 1)[1]
    assert body.index("module load cuda/12.4") < body.index("export ODD='a b'") < body.index("exec /venv/bin/python")
    assert script.rstrip().endswith(f"exec /venv/bin/python -m xtui.worker {folders[0]} {folders[1]}")
    assert subprocess.run(["bash", "-n"], input=script, text=True).returncode == 0


def test_a_stage_without_a_running_parent_has_no_dependency(tmp_path):
    script = job_script(Slurm(), "intermediate", [tmp_path / "s"], [], ["python", "-m", "xtui.worker", "s"], {})
    options = _options(script)
    assert not any(o.startswith(("--dependency", "--kill-on-invalid-dep", "--gres", "--time", "--partition"))
                   for o in options)


def test_a_job_is_warned_before_its_time_limit_and_may_requeue_itself(tmp_path):
    script = job_script(Slurm(), "target", [tmp_path / "s"], [], ["python", "-m", "xtui.worker", "s"], {})
    options = _options(script)
    assert "--signal=B:USR1@120" in options and "--requeue" in options  # B: to the batch shell, which execs the worker
    assert "export XTUI_SLURM_REQUEUE=3" in script

    never = job_script(Slurm(warning=300, requeue=0), "target", [tmp_path / "s"], [], ["python"], {})
    assert "--signal=B:USR1@300" in _options(never) and "--requeue" not in _options(never)
    assert "export XTUI_SLURM_REQUEUE=0" in never

    silent = job_script(Slurm(warning=0), "target", [tmp_path / "s"], [], ["python"], {})
    assert not any(o.startswith(("--signal", "--requeue")) for o in _options(silent))
    assert "export XTUI_SLURM_REQUEUE=0" in silent


def test_a_several_process_job_passes_the_warning_to_its_workers_and_ends_with_the_launchers_code(tmp_path):
    """The batch shell of a several-process job forwards USR1 to the launcher's children (the workers):
    tried here with a stand-in launcher whose child reports the signal it got."""
    child = ("import signal, sys, time\n"
             "signal.signal(signal.SIGUSR1, lambda *a: (print('worker got USR1', flush=True), sys.exit(75)))\n"
             "print('ready', flush=True)\n"
             "time.sleep(30)\n")
    launcher = ["python3", "-c", f"import subprocess, sys; sys.exit(subprocess.call(['python3', '-c', {child!r}]))"]
    script = job_script(Slurm(), "target", [tmp_path / "s"], [], launcher, {}, processes=2)
    assert "exec " not in script.split("\n\n")[-1]
    path = tmp_path / "job.sh"
    path.write_text(script)
    job = subprocess.Popen(["bash", str(path)], stdout=subprocess.PIPE, text=True)
    assert job.stdout.readline().strip() == "ready"
    job.send_signal(signal.SIGUSR1)  # what --signal=B:USR1@N sends the batch shell
    out, _ = job.communicate(timeout=20)
    assert "worker got USR1" in out and job.returncode == 75
