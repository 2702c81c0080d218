"""hearth for a police force and the local authorities it serves: one run a night, mapped.

The force's police delivery is routed to the authorities whose addresses each incident
touches (``route``); then each authority's whole night runs as one mapped task instance
(``authority_night``, dynamic task mapping over the configured authorities) into that
authority's own warehouse. One authority's failure (a stale register, a bad file) fails
only its own instance: the others publish, its reports folder says why there is no list,
and ``summarise`` writes the force summary and fails the run so someone looks. The
authorities come from the force configuration (``HEARTH_FORCE_CONFIG``); see
docs/airflow.md.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, task

from pipeline.airflow_support import (
    DEFAULT_ARGS,
    FORCE_POOL,
    TAGS,
    end_date,
    force_params,
    night_schedule,
    scheduler_deadline,
    start_date,
)


@dag(
    dag_id="hearth_force_nightly",
    schedule=night_schedule(),
    start_date=start_date(),
    end_date=end_date(),
    catchup=True,
    # One run at a time: every authority's warehouse file has one writer.
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    params=force_params(),
    deadline=scheduler_deadline(),
    tags=[*TAGS, "force"],
    doc_md=__doc__,
)
def hearth_force_nightly() -> None:
    # Nights run in order: a night starts only once the previous night's routing succeeded.
    @task(depends_on_past=True)
    def route(**context: Any) -> list[str]:
        from pipeline.airflow_support import route_police_task

        return route_police_task(context)

    @task(pool=FORCE_POOL)
    def authority_night(authority: str, **context: Any) -> dict[str, Any]:
        from pipeline.airflow_support import authority_night_task

        return authority_night_task(authority, context)

    @task(trigger_rule="all_done")
    def summarise(**context: Any) -> dict[str, str]:
        from pipeline.airflow_support import force_summary_task

        return force_summary_task(context)

    nights = authority_night.expand(authority=route())
    nights >> summarise()


hearth_force_nightly()
