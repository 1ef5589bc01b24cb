"""What a Celery task runs: the sync engine, the vendor connectors, rate limits, OAuth, settings."""
