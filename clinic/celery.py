"""The Celery app. Broker: CELERY_BROKER_URL, else REDIS_URL (see settings)."""

import os

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")

app = Celery("clinic")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class RefuseMisconfiguredWorker(bootsteps.Step):
    """A worker with an unusable configuration (SMS backend, credentials) exits at start, before taking a task.

    A bootstep, because Celery logs and ignores exceptions raised by signal receivers.
    """

    def __init__(self, worker, **kwargs):
        from clinic.startup import refuse_to_start_if_misconfigured

        refuse_to_start_if_misconfigured()
        super().__init__(worker, **kwargs)


app.steps["worker"].add(RefuseMisconfiguredWorker)
