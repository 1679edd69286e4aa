-- Version 2: the attempt history follows the task's state in the same
-- statement, so a claim, a reclaim and a completion are one UPDATE each.
CREATE FUNCTION tasks_attempts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state = 'queued' AND NEW.state = 'running' THEN
        INSERT INTO attempts (task, attempt, worker, lease_token, started_ms)
        VALUES (NEW.id, NEW.attempts, NEW.worker, NEW.lease_token, NEW.state_since_ms);
    ELSIF OLD.state = 'running' AND NEW.state = 'queued' THEN
        UPDATE attempts SET ended_ms = NEW.state_since_ms, result = 'lease_expired'
        WHERE lease_token = OLD.lease_token AND ended_ms IS NULL;
    ELSIF OLD.state = 'running' AND NEW.state IN ('done', 'failed') THEN
        UPDATE attempts SET ended_ms = NEW.state_since_ms, result = 'completed'
        WHERE lease_token = NEW.lease_token AND ended_ms IS NULL;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER tasks_attempts AFTER UPDATE OF state ON tasks
FOR EACH ROW EXECUTE FUNCTION tasks_attempts();
