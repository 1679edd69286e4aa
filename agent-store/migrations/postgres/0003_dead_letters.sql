-- Version 3: a maximum number of claims per task and a dead-letter state;
-- dependants of a failed or dead task are marked `blocked`; reservations
-- remember the lease they were made under, so a dead worker's holds expire.
ALTER TABLE tasks ADD COLUMN max_attempts BIGINT NOT NULL DEFAULT 5;
-- Why the task is `dead` or `blocked`.
ALTER TABLE tasks ADD COLUMN reason TEXT;
-- For a `blocked` task: the failed or dead task it waited for.
ALTER TABLE tasks ADD COLUMN blocked_by TEXT;
-- How the attempt that just ended ended (`completed`, `failed`,
-- `lease_expired`): set by the statement that takes the task out of
-- `running`, copied into the attempt history by the trigger below.
ALTER TABLE tasks ADD COLUMN attempt_end TEXT;
CREATE INDEX task_deps_dep ON task_deps (dep, task);

-- 0 open, 1 settled or released, 2 expired (its lease died; amount released).
ALTER TABLE reservations ADD COLUMN lease_token TEXT;
CREATE INDEX reservations_open ON reservations (settled, task);

CREATE OR REPLACE FUNCTION tasks_attempts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state = 'queued' AND NEW.state = 'running' THEN
        INSERT INTO attempts (task, attempt, worker, lease_token, started_ms)
        VALUES (NEW.id, NEW.attempts, NEW.worker, NEW.lease_token, NEW.state_since_ms);
    ELSIF OLD.state = 'running' AND NEW.state <> 'running' THEN
        UPDATE attempts SET ended_ms = NEW.state_since_ms, result = COALESCE(NEW.attempt_end, 'completed')
        WHERE lease_token = OLD.lease_token AND ended_ms IS NULL;
    END IF;
    RETURN NULL;
END
$$;
