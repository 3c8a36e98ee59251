"""EventBridge that fires locally: schedules, event patterns, targets (see
:mod:`lakekit.local.services.events_scheduler` for what the endpoint does with them)."""
