"""When jobs fire: the scheduler, a job's combined schedule, and waking it early."""
