"""A real one-node Slurm cluster in a temporary folder, for the Slurm executor's tests and benchmark.

Debian's ``slurm-wlm`` and ``munge`` (22.05 on Debian 12) are installed with apt-get when missing
(root only). Everything the cluster writes lives in one folder: its ``slurm.conf`` (clients find it
through ``SLURM_CONF``, so a real cluster's configuration on this machine is never read or touched),
a private munge key and socket, the controller's state, the node's spool and the daemons' logs. The
daemons run in the foreground as children of this process and are stopped by their ids.

    python -m benchmarks.slurm_cluster up /tmp/cluster     # start it; prints `export SLURM_CONF=...`
    python -m benchmarks.slurm_cluster down /tmp/cluster   # cancel its jobs, stop its daemons

Headless and standard library only: the tests import it (``tests/integration/test_slurm.py``).
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Optional

PACKAGES = ("slurm-wlm", "munge")
PROGRAMS = ("munged", "mungekey", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo")


def missing_programs() -> list:
    return [p for p in PROGRAMS if shutil.which(p) is None and not Path("/usr/sbin", p).is_file()]


def ensure_installed() -> Optional[str]:
    """None when Slurm and munge can run here (installing them with apt-get if needed), else why not."""
    if not missing_programs():
        return None
    if os.geteuid() != 0:
        return f"Slurm is not installed ({', '.join(missing_programs())} missing) and installing it needs root"
    if shutil.which("apt-get") is None:
        return f"Slurm is not installed ({', '.join(missing_programs())} missing) and there is no apt-get to install it"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *PACKAGES]
    done = subprocess.run(install, env=env, capture_output=True, text=True)
    if done.returncode != 0:  # the package lists may be missing (a fresh container)
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, text=True)
        done = subprocess.run(install, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
        return f"apt-get install {' '.join(PACKAGES)} failed (exit {done.returncode}): {tail[0]}"
    still = missing_programs()
    return f"after apt-get install, still missing: {', '.join(still)}" if still else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            return int(line.split()[1]) // 1024
    return 1024


def _program(name: str) -> str:
    return shutil.which(name) or str(Path("/usr/sbin", name))


class SlurmCluster:
    """One controller and one node (this machine, all its CPUs) under ``root``."""

    def __init__(self, root: Optional[Path] = None):
        if root is None:
            root = Path(tempfile.mkdtemp(prefix="xtui-slurm-"))
        self.root = Path(root)
        self.node = socket.gethostname().split(".")[0]
        self.cpus = os.cpu_count() or 1
        self.conf = self.root / "slurm.conf"
        self.socket = self.root / "munge" / "munge.socket.2"
        self.processes: dict = {}
        self.cred_expire = 10
        """Seconds a requeued job waits before it may start again (Slurm's default, 120, would slow the tests)."""

    @property
    def env(self) -> dict:
        """What a client (sbatch, squeue, xtui) needs to talk to this cluster."""
        return {"SLURM_CONF": str(self.conf)}

    def client_env(self) -> dict:
        return dict(os.environ, **self.env)

    # -- configuration ------------------------------------------------------------------------------
    def write_config(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # munged runs as the munge user and must reach its folder
        for name in ("state", "spool", "log"):
            (self.root / name).mkdir(exist_ok=True)
        munge = self.root / "munge"
        munge.mkdir(exist_ok=True)
        key = munge / "munge.key"
        if not key.is_file():
            subprocess.run([_program("mungekey"), "--create", f"--keyfile={key}"], check=True, capture_output=True)
        user = pwd.getpwnam("munge")
        for path in (munge, key):
            os.chown(path, user.pw_uid, user.pw_gid)
        munge.chmod(0o755)  # munged wants its socket folder reachable by every client
        key.chmod(0o400)
        settings = {
            "ClusterName": "xtuitest",
            "SlurmctldHost": f"{self.node}(127.0.0.1)",
            "SlurmctldPort": _free_port(),
            "SlurmdPort": _free_port(),
            "AuthType": "auth/munge",
            "CredType": "cred/munge",
            # cred_expire also sets how long a requeued job waits before it may start again (120 s by default)
            "AuthInfo": f"socket={self.socket},cred_expire={self.cred_expire}",
            "SlurmUser": "root",
            "SlurmdUser": "root",
            "StateSaveLocation": self.root / "state",
            "SlurmdSpoolDir": self.root / "spool",
            "SlurmctldPidFile": self.root / "slurmctld.pid",
            "SlurmdPidFile": self.root / "slurmd.pid",
            "SlurmctldLogFile": self.root / "log" / "slurmctld.log",
            "SlurmdLogFile": self.root / "log" / "slurmd.log",
            "ProctrackType": "proctrack/linuxproc",
            "TaskPlugin": "task/none",
            "SelectType": "select/cons_tres",
            "SelectTypeParameters": "CR_Core",
            "AccountingStorageType": "accounting_storage/none",
            "JobAcctGatherType": "jobacct_gather/none",
            "JobCompType": "jobcomp/none",
            "MpiDefault": "none",
            "ReturnToService": 2,
            "SchedulerType": "sched/backfill",
            "SlurmdParameters": "config_overrides",
            "KillWait": 10,
            "MinJobAge": 300,
        }
        lines = [f"{k}={v}" for k, v in settings.items()]
        lines.append(f"NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={_memory_mb() - 512} "
                     "State=UNKNOWN")
        lines.append(f"PartitionName=debug Nodes={self.node} Default=YES MaxTime=INFINITE State=UP")
        self.conf.write_text("\n".join(lines) + "\n")

    # -- daemons ------------------------------------------------------------------------------------
    def _daemon(self, name: str, command: list, **popen) -> None:
        log = open(self.root / "log" / f"{name}.out", "ab")
        try:
            self.processes[name] = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                    stdin=subprocess.DEVNULL, env=self.client_env(), **popen)
        finally:
            log.close()

    def start(self, timeout: float = 60.0) -> "SlurmCluster":
        """munged (as the munge user), slurmctld, slurmd; returns once ``sinfo`` shows the node idle."""
        self.write_config()
        munge = self.root / "munge"
        self._daemon("munged", [_program("munged"), "--foreground", f"--socket={self.socket}",
                                f"--key-file={munge / 'munge.key'}", f"--pid-file={munge / 'munged.pid'}",
                                f"--seed-file={munge / 'munged.seed'}", f"--log-file={munge / 'munged.log'}"],
                     user="munge", group="munge", extra_groups=[])
        self._wait(lambda: self.socket.exists(), timeout, "munged did not create its socket", "munged")
        self._daemon("slurmctld", [_program("slurmctld"), "-D", "-c", "-i", "-f", str(self.conf)])
        self._daemon("slurmd", [_program("slurmd"), "-D", "-N", self.node, "-f", str(self.conf)])
        self._wait(lambda: self.node_state() == "idle", timeout, "the node did not become idle", "slurmd")
        return self

    def _wait(self, ready, timeout: float, what: str, log: str) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if ready():
                return
            dead = [n for n, p in self.processes.items() if p.poll() is not None]
            if dead:
                break
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{what} within {timeout:.0f}s (daemons exited: {dead or 'none'}); "
                           f"{self.log_tail(log)}")

    def log_tail(self, name: str, lines: int = 3) -> str:
        found = [p for p in (self.root / "log" / f"{name}.log", self.root / "log" / f"{name}.out",
                             self.root / "munge" / f"{name}.log") if p.is_file()]
        text = " | ".join(" | ".join(p.read_text(errors="replace").strip().splitlines()[-lines:]) for p in found)
        return f"{name} log: {text or '(empty)'}"

    def node_state(self) -> str:
        done = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, env=self.client_env())
        return done.stdout.strip() if done.returncode == 0 else ""

    def jobs(self) -> list:
        """``[(job id, state), ...]`` of every job the cluster still holds."""
        done = subprocess.run(["squeue", "-h", "-o", "%i %T"], capture_output=True, text=True, env=self.client_env())
        return [tuple(line.split()) for line in done.stdout.splitlines() if line.strip()]

    def stop(self) -> None:
        """Cancel every job of the cluster, then end its daemons (SIGTERM, then SIGKILL)."""
        if self.processes.get("slurmctld") and self.processes["slurmctld"].poll() is None:
            subprocess.run(["scancel", "--full", "--user", "root"], capture_output=True, env=self.client_env())
            deadline = time.time() + 30
            while time.time() < deadline and any(state not in ("COMPLETED", "CANCELLED", "FAILED")
                                                 for _, state in self.jobs()):
                time.sleep(0.5)
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def __enter__(self) -> "SlurmCluster":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _pids(root: Path) -> list:
    """The daemons' pids a detached ``up`` left in the cluster's folder."""
    pids = []
    for path in (root / "slurmd.pid", root / "slurmctld.pid", root / "munge" / "munged.pid"):
        try:
            pids.append(int(path.read_text().strip()))
        except (OSError, ValueError):
            pass
    return pids


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2 or args[0] not in ("up", "down"):
        print(__doc__.split("\n\n")[2], file=sys.stderr)
        return 2
    root = Path(args[1]).resolve()
    if args[0] == "up":
        why = ensure_installed()
        if why:
            print(f"slurm_cluster: {why}", file=sys.stderr)
            return 1
        SlurmCluster(root).start()  # the daemons outlive this process (they are not waited on)
        print(f"export SLURM_CONF={root / 'slurm.conf'}")
        return 0
    cluster = SlurmCluster(root)
    subprocess.run(["scancel", "--full", "--user", "root"], capture_output=True, env=cluster.client_env())
    for pid in _pids(root):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
