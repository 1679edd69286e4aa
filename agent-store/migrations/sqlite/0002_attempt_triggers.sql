-- Version 2: the attempt history follows the task's state in the same
-- statement, so a claim, a reclaim and a completion are one UPDATE each.
CREATE TRIGGER tasks_claimed AFTER UPDATE OF state ON tasks
WHEN OLD.state = 'queued' AND NEW.state = 'running'
BEGIN
    INSERT INTO attempts (task, attempt, worker, lease_token, started_ms)
    VALUES (NEW.id, NEW.attempts, NEW.worker, NEW.lease_token, NEW.state_since_ms);
END;

CREATE TRIGGER tasks_reclaimed AFTER UPDATE OF state ON tasks
WHEN OLD.state = 'running' AND NEW.state = 'queued'
BEGIN
    UPDATE attempts SET ended_ms = NEW.state_since_ms, result = 'lease_expired'
    WHERE lease_token = OLD.lease_token AND ended_ms IS NULL;
END;

CREATE TRIGGER tasks_finished AFTER UPDATE OF state ON tasks
WHEN OLD.state = 'running' AND NEW.state IN ('done', 'failed')
BEGIN
    UPDATE attempts SET ended_ms = NEW.state_since_ms, result = 'completed'
    WHERE lease_token = NEW.lease_token AND ended_ms IS NULL;
END;
