-- agent-store schema, version 1 (PostgreSQL). Times are Unix milliseconds;
-- money is integer micro-dollars so ceilings compare exactly.
CREATE TABLE tasks (
    seq              BIGSERIAL PRIMARY KEY,
    id               TEXT    NOT NULL UNIQUE,
    priority         BIGINT  NOT NULL DEFAULT 0,
    repo             TEXT    NOT NULL DEFAULT '',
    tenant           TEXT    NOT NULL DEFAULT '',
    payload          TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    worker           TEXT,
    lease_token      TEXT,
    lease_expires_ms BIGINT,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    completions      BIGINT  NOT NULL DEFAULT 0,
    outcome          TEXT,
    result           TEXT,
    enqueued_ms      BIGINT  NOT NULL,
    state_since_ms   BIGINT  NOT NULL,
    finished_ms      BIGINT
);
CREATE INDEX tasks_ready ON tasks (state, priority DESC, seq);
CREATE INDEX tasks_leases ON tasks (state, lease_expires_ms);

CREATE TABLE task_deps (
    task TEXT NOT NULL,
    dep  TEXT NOT NULL,
    PRIMARY KEY (task, dep)
);

CREATE TABLE attempts (
    task        TEXT   NOT NULL,
    attempt     BIGINT NOT NULL,
    worker      TEXT   NOT NULL,
    lease_token TEXT   NOT NULL UNIQUE,
    started_ms  BIGINT NOT NULL,
    ended_ms    BIGINT,
    result      TEXT,
    PRIMARY KEY (task, attempt)
);

CREATE TABLE events (
    seq   BIGSERIAL PRIMARY KEY,
    id    TEXT    NOT NULL UNIQUE,
    task  TEXT    NOT NULL,
    at_ms BIGINT  NOT NULL,
    kind  TEXT    NOT NULL,
    body  TEXT    NOT NULL
);
CREATE INDEX events_task ON events (task, seq);

CREATE TABLE budgets (
    scope          TEXT   NOT NULL,
    key            TEXT   NOT NULL,
    ceiling_micros BIGINT,
    spent_micros   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, key)
);

CREATE TABLE reservations (
    id            TEXT   PRIMARY KEY,
    task          TEXT   NOT NULL,
    worker        TEXT   NOT NULL,
    repo          TEXT   NOT NULL,
    tenant        TEXT   NOT NULL,
    amount_micros BIGINT NOT NULL,
    settled       BIGINT NOT NULL DEFAULT 0,
    created_ms    BIGINT NOT NULL
);

CREATE TABLE spend (
    seq           BIGSERIAL PRIMARY KEY,
    reservation   TEXT UNIQUE,
    task          TEXT   NOT NULL,
    worker        TEXT   NOT NULL,
    repo          TEXT   NOT NULL,
    tenant        TEXT   NOT NULL,
    provider      TEXT   NOT NULL,
    model         TEXT   NOT NULL,
    cost_micros   BIGINT NOT NULL,
    input_tokens  BIGINT NOT NULL,
    output_tokens BIGINT NOT NULL,
    at_ms         BIGINT NOT NULL,
    day           TEXT   NOT NULL
);
