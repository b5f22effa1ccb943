//! Scheduler: filled by the scheduler issue. Nothing here yet, and no binary pretends to schedule.
