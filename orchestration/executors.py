"""The executor, chosen by configuration alone: multiprocess (default) or a Celery cluster.

`AUTOTASK_DAGSTER_EXECUTOR=celery` runs every step as a Celery task on the broker
`AUTOTASK_CELERY_BROKER` (default this machine's RabbitMQ, `pyamqp://guest:guest@127.0.0.1:5672//`);
workers are started with `dagster-celery worker start -A dagster_celery.app` and need the same
code and a shared Dagster instance (dagster-postgres; see docs/orchestration.md).
"""

from __future__ import annotations

import os

from dagster import ExecutorDefinition, in_process_executor, multiprocess_executor

from sdk_core.errors import ConfigurationError

__all__ = ["executor_from_env", "webhook_executor", "step_tags", "DEFAULT_BROKER"]

DEFAULT_BROKER = "pyamqp://guest:guest@127.0.0.1:5672//"


def executor_from_env() -> ExecutorDefinition:
    kind = os.environ.get("AUTOTASK_DAGSTER_EXECUTOR", "multiprocess").strip().lower()
    if kind == "multiprocess":
        return multiprocess_executor.configured(
            {"max_concurrent": int(os.environ.get("AUTOTASK_DAGSTER_MAX_CONCURRENT", "0"))}
        )
    if kind == "celery":
        from dagster_celery import celery_executor

        return celery_executor.configured(
            {
                "broker": os.environ.get("AUTOTASK_CELERY_BROKER", DEFAULT_BROKER),
                "backend": os.environ.get("AUTOTASK_CELERY_BACKEND", "rpc://"),
            }
        )
    raise ConfigurationError(f"AUTOTASK_DAGSTER_EXECUTOR={kind!r}: use multiprocess (default) or celery.")


def webhook_executor() -> ExecutorDefinition:
    """Webhook runs are one step: without Celery, run it in the run's own process (no step
    process to start, seconds sooner); with Celery, on the workers like every other step."""
    if os.environ.get("AUTOTASK_DAGSTER_EXECUTOR", "multiprocess").strip().lower() == "multiprocess":
        return in_process_executor
    return executor_from_env()


def step_tags() -> dict[str, str]:
    """Op tags of every step: its Celery queue (AUTOTASK_CELERY_QUEUE; default "dagster")."""
    return {"dagster-celery/queue": os.environ.get("AUTOTASK_CELERY_QUEUE", "dagster")}
