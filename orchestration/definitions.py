"""The Dagster definitions of autotask-liberator: assembled here, defined in their modules."""

from __future__ import annotations

from dagster import Definitions

from .assets import SYNC_ASSETS
from .bulk import bulk_write_job
from .checks import CHECKS
from .executors import executor_from_env
from .health import health_check_job
from .jobs import ASSET_JOBS
from .notifiers import notifier_from_env
from .resources import default_resources
from .schedules import SCHEDULES
from .sensors import SENSORS

defs = Definitions(
    assets=SYNC_ASSETS,
    asset_checks=CHECKS,
    jobs=[*ASSET_JOBS, health_check_job, bulk_write_job],
    schedules=SCHEDULES,
    sensors=SENSORS,
    resources={**default_resources(), "notifier": notifier_from_env()},
    executor=executor_from_env(),
)
