-- Version 4: operator controls (retry, reimplement, cancel) through the
-- task's state machine. `cancelled` is a new value of `tasks.state` (the
-- column is free text, so no constraint changes); the attempt-history
-- trigger of version 3 already closes an attempt on any move out of
-- `running`, with the `attempt_end` the statement sets (`cancelled` for a
-- run stopped on an operator's request).
--
-- An operator asked a running task to stop: its next heartbeat answers
-- `Cancelled`, and its worker completes it as cancelled.
ALTER TABLE tasks ADD COLUMN cancel_requested BIGINT NOT NULL DEFAULT 0;
-- 1 from a `reimplement` until the next completion: the worker restores
-- the task's directory to `base_snapshot` before it runs.
ALTER TABLE tasks ADD COLUMN reimplement BIGINT NOT NULL DEFAULT 0;
-- Reimplementations so far (0: the original goal's first run).
ALTER TABLE tasks ADD COLUMN generation BIGINT NOT NULL DEFAULT 0;
-- Claims before the current generation: a claim's history lists only the
-- attempts after it, so a reimplementation starts without the old memory.
ALTER TABLE tasks ADD COLUMN generation_from BIGINT NOT NULL DEFAULT 0;
-- The snapshot of the task's directory before its first attempt, recorded
-- by the first worker that claims it.
ALTER TABLE tasks ADD COLUMN base_snapshot TEXT;
