"""Running executions: the worker, one execution's steps, retry outcomes, the Job Context."""
