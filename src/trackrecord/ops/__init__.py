"""Unattended operation: the schedule, the jobs, the scheduler, notifications, health checks."""
