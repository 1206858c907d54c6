"""A local Airflow for hrbridge: AIRFLOW_HOME under HRBRIDGE_HOME on SQLite, hrbridge's DAGs, one migrate.

Airflow reads its configuration when first imported, so :func:`prepare_airflow` must run before
anything imports ``airflow``; :func:`run_dag` calls it and then runs one DAG run in-process with
``dag.test()`` (real scheduler logic, real task execution, no separate services), sending Airflow's
own output to a log file instead of the terminal.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from hrbridge.settings import Settings, load_settings


def dags_folder() -> Path:
    """The folder of hrbridge's DAG files: the installed ``dags`` package (the repository's in a checkout)."""
    return Path(str(resources.files("dags")))


MIGRATED_STAMP = ".hrbridge-migrated"


class AirflowRunError(RuntimeError):
    """A DAG could not be loaded or run; the message names the DAG and the log file."""


def airflow_env(settings: Settings) -> dict[str, str]:
    """The environment variables that point Airflow at hrbridge's home and DAGs."""
    home = settings.airflow_home
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder()),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": os.environ.get(
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", f"sqlite:///{home / 'airflow.db'}"),
    }


def prepare_airflow(settings: Settings | None = None, log_file: Path | None = None) -> Path:
    """Point the environment at AIRFLOW_HOME under HRBRIDGE_HOME, migrate its database once, sync the pools.

    Returns the Airflow home. The migration output goes to ``log_file`` (default
    ``<airflow home>/hrbridge-airflow.log``).
    """
    settings = (settings or load_settings()).ensure_dirs()
    env = airflow_env(settings)
    if "airflow" in sys.modules and os.environ.get("AIRFLOW_HOME") not in (None, env["AIRFLOW_HOME"]):
        raise AirflowRunError(
            f"Airflow was already imported with AIRFLOW_HOME={os.environ.get('AIRFLOW_HOME')}; "
            "prepare_airflow must run first"
        )
    os.environ.update(env)
    home = settings.airflow_home
    stamp = home / MIGRATED_STAMP
    if not stamp.exists():
        log_file = log_file or home / "hrbridge-airflow.log"
        airflow = Path(sys.executable).with_name("airflow")
        command = [str(airflow)] if airflow.exists() else [sys.executable, "-m", "airflow"]
        with log_file.open("a", encoding="utf-8") as log:
            done = subprocess.run([*command, "db", "migrate"], stdout=log, stderr=subprocess.STDOUT,  # noqa: S603
                                  env=os.environ.copy(), check=False)
        if done.returncode != 0:
            raise AirflowRunError(f"airflow db migrate failed (exit {done.returncode}); see {log_file}")
        stamp.write_text("ok\n", encoding="utf-8")
    from hrbridge.operations.pools import sync_pools

    sync_pools(settings=settings)  # the pools the DAGs' tasks run in (idempotent)
    return home


@contextlib.contextmanager
def output_to(log_file: Path) -> Iterator[None]:
    """Send everything written to stdout/stderr (file descriptors 1 and 2) to ``log_file``."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log_file.open("ab") as log:
        try:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def run_dag(dag_id: str, conf: dict[str, Any] | None = None, *, settings: Settings | None = None,
            log_file: Path | None = None, quiet: bool = True) -> str:
    """Run one DAG run of ``dag_id`` through real Airflow (``dag.test()``); returns its final state.

    With ``quiet`` Airflow's output goes to ``log_file`` (default under the Airflow home).
    """
    home = prepare_airflow(settings)
    log_file = log_file or home / "hrbridge-airflow.log"
    from airflow.dag_processing.dagbag import DagBag

    redirect = output_to(log_file) if quiet else contextlib.nullcontext()
    with redirect:
        bag = DagBag(str(dags_folder()))
        dag = bag.dags.get(dag_id)
        if dag is None:
            errors = "; ".join(f"{Path(k).name}: {str(v).splitlines()[-1]}" for k, v in bag.import_errors.items())
            raise AirflowRunError(f"DAG {dag_id!r} not found in {dags_folder()}" + (f" (import errors: {errors})" if errors else ""))
        dag_run = dag.test(run_conf=conf)
    state = getattr(dag_run, "state", None)
    return str(getattr(state, "value", state))
