from django.apps import AppConfig


class RunsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "runs"

    def ready(self):
        from django_q.signals import post_spawn

        from .background import start_in_worker

        post_spawn.connect(start_in_worker, dispatch_uid="runs.background.start_in_worker")
