"""A production-shaped Airflow for hearth on one machine: PostgreSQL metadata database,
LocalExecutor or CeleryExecutor with Redis, workers running the built hearth wheel.

Used by ``make deploy-local``, ``make deploy-celery`` and the end-to-end tests in
``tests/deploy/`` (``make test-deploy``). Standard library only, so it runs before any
virtualenv exists. Everything listens on 127.0.0.1 on ports the kernel says are free, keeps
its data under ``.deploy/`` (ignored by git) and is stopped by :meth:`Stack.stop`, which the
tests and make targets call even when something failed.

    python deploy/stack.py build                # wheel + .deploy/venv (the workers' install)
    python deploy/stack.py up --executor celery --workers 2 --name demo --force-config F
    python deploy/stack.py down --name demo
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / ".deploy"
VENV = DEPLOY / "venv"
PG_BIN = Path(os.environ.get("HEARTH_PG_BIN", "/usr/lib/postgresql/15/bin"))
FORCE_DAG = "hearth_force_nightly"
POOL = "hearth_authority_nights"


def _uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        raise SystemExit("uv not found: run `make bootstrap` first")
    return found


def _run(cmd: list[str], *, timeout: float, env: dict[str, str] | None = None,
         cwd: Path | None = None, user: str | None = None) -> subprocess.CompletedProcess[str]:
    if user:
        cmd = ["runuser", "-u", user, "--", *cmd]
        cwd = cwd or Path("/")  # the caller's folder may be closed to that user
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done


def build(*, timeout: float = 600) -> Path:
    """Build the wheel and install it, with the locked versions, into ``.deploy/venv``."""
    uv = _uv()
    dist = DEPLOY / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    _run([uv, "build", "--wheel", "--out-dir", str(dist), str(ROOT)], timeout=timeout, cwd=ROOT)
    wheel = next(dist.glob("hearth-*.whl"))
    reqs = DEPLOY / "requirements.txt"
    exported = _run([uv, "export", "--frozen", "--no-dev", "--extra", "deploy", "--no-hashes",
                     "--no-emit-project"], timeout=timeout, cwd=ROOT)
    reqs.write_text(exported.stdout, encoding="utf-8")
    python = os.environ.get("UV_PYTHON") or shutil.which("python3.11") or sys.executable
    if not (VENV / "bin" / "python").exists():
        _run([uv, "venv", "--quiet", "--python", python, str(VENV)], timeout=timeout)
    _run([uv, "pip", "install", "--quiet", "--python", str(VENV / "bin" / "python"), "-r", str(reqs),
          "--reinstall-package", "hearth", str(wheel)], timeout=timeout)
    return wheel


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    """One deployment: its folder, ports and processes (recorded in ``state.json``)."""

    name: str
    executor: str = "local"
    workers: int = 2
    force_config: Path | None = None
    # The first and last night the scheduler runs (HEARTH_AIRFLOW_START_DATE / _END_DATE).
    nights: tuple[str, str] | None = None
    pids: dict[str, int] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    secret: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def home(self) -> Path:
        return DEPLOY / self.name

    @property
    def pg_data(self) -> Path:
        """PostgreSQL's data folder. Run as root, the server runs as ``postgres``, which may not
        be allowed into the checkout (a clone inside a private temporary folder): then the
        data lives in the system's temporary folder, named after this deployment's folder."""
        if os.geteuid() != 0:
            return self.home / "pg"
        digest = hashlib.sha256(str(self.home.resolve()).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"hearth-pg-{self.name}-{digest}"

    def save(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "state.json").write_text(json.dumps({
            "name": self.name, "executor": self.executor, "workers": self.workers,
            "force_config": str(self.force_config) if self.force_config else None,
            "nights": self.nights, "pids": self.pids, "ports": self.ports, "secret": self.secret}), encoding="utf-8")

    @classmethod
    def load(cls, name: str) -> Stack:
        data = json.loads((DEPLOY / name / "state.json").read_text(encoding="utf-8"))
        fc, nights = data.pop("force_config"), data.pop("nights")
        return cls(**data, force_config=Path(fc) if fc else None, nights=tuple(nights) if nights else None)

    # ---- environment -------------------------------------------------------------------
    def pg_url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.ports['postgres']}/airflow"

    def env(self) -> dict[str, str]:
        """Airflow's configuration for every component, and hearth's for the tasks."""
        keep = {k: v for k, v in os.environ.items()
                if not k.startswith(("AIRFLOW", "HEARTH_", "VIRTUAL_ENV", "PYTHON", "UV_"))}
        api = f"http://127.0.0.1:{self.ports['api']}"
        env = {
            **keep,
            "PATH": f"{VENV / 'bin'}:{keep.get('PATH', '/usr/bin:/bin')}",
            "AIRFLOW_HOME": str(self.home / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor" if self.executor == "celery" else "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.pg_url(),
            "AIRFLOW__API__PORT": str(self.ports["api"]),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": api,
            "AIRFLOW__API_AUTH__JWT_SECRET": self.secret,
            "AIRFLOW__API__SECRET_KEY": self.secret,
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.ports["logs"]),
            # On a busy machine the API server can take longer than the 5 s default to answer
            # a task's heartbeat; three misses and the task is killed mid-night.
            "AIRFLOW__WORKERS__EXECUTION_API_TIMEOUT": "60",
            "AIRFLOW__WORKERS__MAX_FAILED_HEARTBEATS": "10",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "HEARTH_LOG_LEVEL": "INFO",
        }
        if self.executor == "celery":
            env |= {
                "AIRFLOW__CELERY__BROKER_URL": f"redis://127.0.0.1:{self.ports['redis']}/0",
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.pg_url(),
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
                "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
            }
        if self.nights:
            env["HEARTH_AIRFLOW_START_DATE"], env["HEARTH_AIRFLOW_END_DATE"] = self.nights
        if self.force_config:
            env["HEARTH_FORCE_CONFIG"] = str(self.force_config)
        return env

    def airflow(self, *args: str, timeout: float = 120, extra: dict[str, str] | None = None) -> str:
        return _run([str(VENV / "bin" / "airflow"), *args], env={**self.env(), **(extra or {})}, cwd=self.home,
                    timeout=timeout).stdout

    def psql(self, query: str, *, timeout: float = 30) -> list[list[str]]:
        out = _run([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.ports["postgres"]), "-U", "postgres",
                    "-d", "airflow", "-AtF", "\t", "-c", query], timeout=timeout).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    # ---- life cycle ----------------------------------------------------------------------
    def start(self, *, timeout: float = 240, triggerer: bool = False) -> None:
        """Start every server; on any failure stop what was started and re-raise."""
        if not (VENV / "bin" / "airflow").exists():
            raise RuntimeError("no .deploy/venv: run `python deploy/stack.py build` first")
        shutil.rmtree(self.home, ignore_errors=True)
        (self.home / "logs").mkdir(parents=True)
        shutil.copytree(ROOT / "dags", self.home / "dags", ignore=shutil.ignore_patterns("__pycache__"))
        self.ports = {"postgres": free_port(), "api": free_port(), "logs": free_port()}
        if self.executor == "celery":
            self.ports["redis"] = free_port()
        self.save()
        try:
            self._start_postgres(timeout)
            if self.executor == "celery":
                self._spawn("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(self.ports["redis"]),
                                      "--save", "", "--appendonly", "no", "--dir", str(self.home)])
            self.airflow("db", "migrate", timeout=timeout)
            self.airflow("pools", "set", POOL, "2", "authorities' nights at once")
            self._spawn("api-server", [str(VENV / "bin" / "airflow"), "api-server", "--port", str(self.ports["api"]),
                                       "--host", "127.0.0.1", "--workers", "1"])
            self._spawn("scheduler", [str(VENV / "bin" / "airflow"), "scheduler"])
            self._spawn("dag-processor", [str(VENV / "bin" / "airflow"), "dag-processor"])
            if triggerer:
                self._spawn("triggerer", [str(VENV / "bin" / "airflow"), "triggerer"])
            if self.executor == "celery":
                for i in range(1, self.workers + 1):
                    self.ports[f"worker{i}-logs"] = free_port()
                    self._spawn(f"worker{i}", [str(VENV / "bin" / "airflow"), "celery", "worker", "--concurrency", "1",
                                               "--celery-hostname", f"hearth{i}@%h", "--without-gossip",
                                               "--without-mingle"],
                                extra={"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(self.ports[f"worker{i}-logs"])})
            self._wait_for_api(timeout)
        except BaseException:
            self.stop()
            raise

    def _start_postgres(self, timeout: float) -> None:
        user = "postgres" if os.geteuid() == 0 else None  # PostgreSQL refuses to run as root
        if user and self.pg_data.exists():
            shutil.rmtree(self.pg_data)  # a stopped deployment's leftovers in the temporary folder
        self.pg_data.mkdir(parents=True)
        if user:
            shutil.chown(self.pg_data, user)
        _run([str(PG_BIN / "initdb"), "-D", str(self.pg_data), "-U", "postgres", "--auth", "trust",
              "--encoding", "UTF8", "--no-sync"], timeout=timeout, user=user)
        _run([str(PG_BIN / "pg_ctl"), "-D", str(self.pg_data), "-l", str(self.pg_data / "server.log"), "-w",
              "-t", str(int(timeout)), "-o", f"-c listen_addresses=127.0.0.1 -p {self.ports['postgres']} "
              f"-k {self.pg_data} -c fsync=off", "start"], timeout=timeout + 10, user=user)
        _run([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.ports["postgres"]), "-U", "postgres",
              "airflow"], timeout=60)

    def _spawn(self, name: str, cmd: list[str], extra: dict[str, str] | None = None) -> None:
        log = (self.home / "logs" / f"{name}.log").open("ab")
        proc = subprocess.Popen(cmd, env={**self.env(), **(extra or {})}, cwd=self.home, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        self.pids[name] = proc.pid
        self.save()

    def _wait_for_api(self, timeout: float) -> None:
        url = f"http://127.0.0.1:{self.ports['api']}/api/v2/monitor/health"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, pid in self.pids.items():
                if not _alive(pid):
                    raise RuntimeError(f"{name} exited at start; see {self.home / 'logs' / (name + '.log')}")
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(2)
        raise TimeoutError(f"the API server did not answer on {url} within {timeout:.0f} s")

    def stop(self, *, timeout: float = 30) -> None:
        """Stop every process this stack started (its own process groups), then PostgreSQL."""
        for pid in reversed(list(self.pids.values())):
            _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(_alive(p) for p in self.pids.values()):
            time.sleep(0.5)
        for pid in self.pids.values():
            _signal_group(pid, signal.SIGKILL)
        self.pids = {}
        if (self.pg_data / "postmaster.pid").exists():
            user = "postgres" if os.geteuid() == 0 else None
            try:
                _run([str(PG_BIN / "pg_ctl"), "-D", str(self.pg_data), "-m", "immediate", "-w", "-t", "30", "stop"],
                     timeout=45, user=user)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                print(f"could not stop PostgreSQL in {self.pg_data}: {exc}", file=sys.stderr)
        if self.home.exists():
            self.save()

    # ---- runs --------------------------------------------------------------------------
    def wait_until_parsed(self, dag_id: str, *, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.psql(f"SELECT count(*) FROM dag WHERE dag_id = '{dag_id}'") == [["1"]]:
                return
            time.sleep(2)
        raise TimeoutError(f"the DAG processor did not parse {dag_id} within {timeout:.0f} s")

    def wait_for_nights(self, dag_id: str, count: int, *, timeout: float = 900) -> dict[str, str]:
        """Wait until ``count`` runs of ``dag_id`` have finished; {logical date: state}."""
        deadline = time.monotonic() + timeout
        rows: list[list[str]] = []
        while time.monotonic() < deadline:
            for name, pid in self.pids.items():
                if not _alive(pid):
                    raise RuntimeError(f"{name} died; see {self.home / 'logs' / (name + '.log')}")
            rows = self.psql(f"SELECT logical_date, state FROM dag_run WHERE dag_id = '{dag_id}' ORDER BY logical_date")
            if sum(state in {"success", "failed"} for _, state in rows) >= count:
                return dict((d, s) for d, s in rows)
            time.sleep(3)
        raise TimeoutError(f"{dag_id}: {rows} after {timeout:.0f} s, waiting for {count} finished runs")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A child that exited but was not reaped is a zombie: not alive.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _signal_group(pid: int, sig: int) -> None:
    # Each server was started in its own session: its process group is its pid.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build the wheel and the workers' virtualenv")
    up = sub.add_parser("up", help="start a deployment and keep it running until Ctrl-C")
    up.add_argument("--name", default="demo")
    up.add_argument("--executor", choices=["local", "celery"], default="local")
    up.add_argument("--workers", type=int, default=2)
    up.add_argument("--force-config", type=Path)
    up.add_argument("--nights", nargs=2, metavar=("FIRST", "LAST"), help="first and last night to run")
    down = sub.add_parser("down", help="stop a deployment started with up")
    down.add_argument("--name", default="demo")
    args = parser.parse_args(argv)
    if args.command == "build":
        print(build())
        return 0
    if args.command == "down":
        if (DEPLOY / args.name / "state.json").exists():
            Stack.load(args.name).stop()
        return 0
    stack = Stack(name=args.name, executor=args.executor, workers=args.workers,
                  force_config=args.force_config.resolve() if args.force_config else None,
                  nights=tuple(args.nights) if args.nights else None)
    try:
        stack.start(triggerer=True)
        print(f"Airflow ({stack.executor} executor, PostgreSQL on 127.0.0.1:{stack.ports['postgres']}) "
              f"at http://127.0.0.1:{stack.ports['api']}; logs in {stack.home / 'logs'}. Ctrl-C stops it.")
        while all(_alive(p) for p in stack.pids.values()):
            time.sleep(2)
        print("a server exited; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
