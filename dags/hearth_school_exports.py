"""Per-school notification files, written whenever a night publishes its lists.

Scheduled on the ``hearth_daily_lists`` asset that the nightly DAG's publish task emits.
Reads the published warehouse read-only and writes one CSV per school into
``<reports_dir>/<list_date>/school-notifications/`` with only child_id, upn, incident time,
child_present and notify_by (``pipeline.outputs.school_exports``). See docs/airflow.md.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, task

from pipeline.airflow_support import DAILY_LISTS, DEFAULT_ARGS, TAGS, dag_params, start_date


@dag(
    dag_id="hearth_school_exports",
    schedule=DAILY_LISTS,
    start_date=start_date(),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params={
        **dag_params(),
        "list_date": Param(None, type=["null", "string"], format="date",
                           description="Export this list date (default: the dates just published)"),
        "exports_dir": Param(None, type=["null", "string"],
                             description="Folder for the files (default: the reports folder)"),
    },
    tags=[*TAGS, "schools"],
    doc_md=__doc__,
)
def hearth_school_exports() -> None:
    @task
    def write_school_files(**context: Any) -> dict[str, int]:
        from pipeline.airflow_support import export_school_notifications_task

        return export_school_notifications_task(context)

    write_school_files()


hearth_school_exports()
