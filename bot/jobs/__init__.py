"""Background jobs: the worker process, the scheduler it runs, and the privacy purges."""
