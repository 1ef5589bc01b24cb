"""Celery app and thin task entry points: poll, sweep, full sync, sync one product."""
