-- ccmulti's whole database schema, PostgreSQL dialect, as of schema version
-- 4: the same tables, keys and indexes as schema.sql (SQLite) beside this
-- file, so that a version number means one schema on both backends. The four
-- seed tables are as the seed wrote them for PostgreSQL (VARCHAR, TIMESTAMP
-- WITH TIME ZONE, UUID, JSONB); every deviation says why, and they are the
-- SQLite schema's deviations. Where the dialects differ, each place says so:
-- fencing tokens come from a sequence here (a counter row in SQLite), ids are
-- identity columns (AUTOINCREMENT / rowid there), JSON is JSONB or JSON (text
-- with json_valid there), and identifiers and paths are COLLATE "C": lock
-- paths are searched by prefix ranges (a directory or glob lock's literal
-- prefix) and listed in order, and both must be code point order, as in
-- SQLite, whatever the database's locale.
--
-- For reading. The coordinator never runs this file: it builds and upgrades a
-- database with the versioned migrations in migrations/postgres/ (refinery),
-- one frozen V<n> file per version. This file is kept equal to what they
-- produce by a test (tests/it/schema_file.rs) that applies it to a fresh
-- database, migrates another, and compares their catalogs (columns, types,
-- defaults, collations, constraints, indexes, sequences). When a migration is
-- added: add its change here, in place (a new column at the end of its table,
-- as ALTER TABLE puts it), bump the version above, and run
-- `cargo test --test it schema_file`; on a difference it prints what differs.

CREATE TABLE claude_code_sessions (
    id          VARCHAR COLLATE "C" PRIMARY KEY,
    name        VARCHAR NOT NULL,
    description TEXT,
    -- A session has one owner: another user naming the same id is refused by the coordinator.
    user_id     VARCHAR NOT NULL,
    -- NOT NULL added (here and below): a default alone lets an explicit NULL in.
    status      VARCHAR NOT NULL DEFAULT 'active',
    created_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
);

CREATE TABLE claude_code_agents (
    id             VARCHAR COLLATE "C" NOT NULL,
    session_id     VARCHAR COLLATE "C" NOT NULL REFERENCES claude_code_sessions(id) ON DELETE CASCADE,
    name           VARCHAR NOT NULL,
    connection_url VARCHAR,
    status         VARCHAR NOT NULL DEFAULT 'connected',
    last_activity  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    created_at     TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    -- Version 2: where the agent works, set by whoever starts it (`ccmulti
    -- team`): the path of its git worktree and, when it is on one, its branch.
    -- NULL for an agent that only ever connected by itself.
    worktree       TEXT,
    branch         TEXT,
    -- Version 3: the machine it works on (the same path on two machines is
    -- two clones); NULL when whoever recorded it did not say.
    host           TEXT,
    -- The seed keyed agents by id alone, so every session's "planner" collided; the key is per session.
    PRIMARY KEY (session_id, id)
);

CREATE TABLE file_locks (
    id            UUID DEFAULT gen_random_uuid() PRIMARY KEY,
    session_id    VARCHAR COLLATE "C" NOT NULL REFERENCES claude_code_sessions(id) ON DELETE CASCADE,
    agent_id      VARCHAR COLLATE "C" NOT NULL,
    file_path     VARCHAR COLLATE "C" NOT NULL,
    operation     VARCHAR NOT NULL CHECK (operation IN ('read', 'write', 'delete')),
    expires_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    created_at    TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    -- Added: the grant's fencing token, from the fencing_tokens sequence, so a stale holder can be told apart.
    fencing_token BIGINT NOT NULL,
    -- Version 4: when the lock stops holding off another agent's claim; NULL:
    -- it holds for its whole lease.
    yields_at     TIMESTAMP WITH TIME ZONE,
    -- Was UNIQUE(session_id, file_path): shared read locks need one row per reader.
    UNIQUE (session_id, file_path, agent_id)
);

CREATE TABLE task_progress (
    id                  UUID DEFAULT gen_random_uuid() PRIMARY KEY,
    session_id          VARCHAR COLLATE "C" NOT NULL REFERENCES claude_code_sessions(id) ON DELETE CASCADE,
    agent_id            VARCHAR COLLATE "C" NOT NULL,
    task_id             VARCHAR COLLATE "C" NOT NULL,
    -- Adds 'paused' (an agent waiting on a lock) and 'planned' (assigned by the planner, not yet started).
    status              VARCHAR NOT NULL CHECK (status IN ('planned', 'started', 'in_progress', 'completed', 'failed', 'blocked', 'paused')),
    progress_percentage INTEGER CHECK (progress_percentage IS NULL OR (progress_percentage >= 0 AND progress_percentage <= 100)),
    message             TEXT,
    affected_files      JSONB,
    created_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at          TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    UNIQUE (session_id, agent_id, task_id)
);

CREATE INDEX idx_claude_code_agents_session_id ON claude_code_agents(session_id);
CREATE INDEX idx_file_locks_session_id ON file_locks(session_id);
CREATE INDEX idx_file_locks_expires_at ON file_locks(expires_at);
CREATE INDEX idx_task_progress_session_id ON task_progress(session_id);
CREATE INDEX idx_task_progress_updated_at ON task_progress(updated_at);
-- Added: one agent's locks in a session (check_agent_status counts them per
-- agent and lists the caller's own live ones; release all), without stepping
-- over the rest of the session's locks.
CREATE INDEX idx_file_locks_session_agent ON file_locks(session_id, agent_id, expires_at);
-- Added: a session's live locks (check_agent_status, news), without stepping
-- over the expired rows the sweeper has not reached yet.
CREATE INDEX idx_file_locks_session_expires ON file_locks(session_id, expires_at);
-- Added: directory (ending in /) and glob locks, which every claim in their session
-- must consider; partial, so it stays empty while only files are locked. The
-- predicate is rules::targets::is_pattern (a glob metacharacter * ? [ { \, or a
-- trailing /), spelled as src/store/postgres/locks.rs's PATTERN_ROWS.
CREATE INDEX idx_file_locks_patterns ON file_locks(session_id)
    WHERE (file_path ~ '[*?[{\\]' OR file_path LIKE '%/');

-- Added: fencing tokens must never repeat, even after their lock rows are gone.
-- SQLite keeps a counter row (fencing_counter); here a sequence, whose values
-- are never handed out twice, even to transactions that roll back, and which
-- does not make every claim of every session queue on one row lock until commit.
CREATE SEQUENCE fencing_tokens AS BIGINT START WITH 1 NO CYCLE;

-- Added: an audit trail of every grant, renewal, release, expiry, conflict,
-- forced release and blocked client, for the dashboard and for agents' news.
CREATE TABLE coordination_events (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id    VARCHAR COLLATE "C",
    at            TIMESTAMP WITH TIME ZONE NOT NULL,
    kind          VARCHAR NOT NULL CHECK (kind IN ('granted', 'renewed', 'released', 'expired', 'conflict', 'forced_release', 'blocked_client')),
    agent_id      VARCHAR COLLATE "C",
    file_path     VARCHAR COLLATE "C",
    operation     VARCHAR,
    fencing_token BIGINT,
    detail        TEXT
);
CREATE INDEX idx_coordination_events_session ON coordination_events(session_id, id);
-- Added: an agent's news looks up its last conflict and its last grant on a
-- path, each one probe however long the path's history.
CREATE INDEX idx_coordination_events_agent_path
    ON coordination_events(session_id, file_path, agent_id, kind, id);
-- An agent's own events (where its news starts, the locks it lost) without walking the session's history.
CREATE INDEX idx_coordination_events_agent ON coordination_events(session_id, agent_id, id);

-- Added: where each agent last looked (check_agent_status), so that its news is
-- what changed since, told once, across restarts and across coordinators: the
-- last coordination event it was shown and when it looked.
CREATE TABLE agent_news_cursors (
    session_id    VARCHAR COLLATE "C" NOT NULL REFERENCES claude_code_sessions(id) ON DELETE CASCADE,
    agent_id      VARCHAR COLLATE "C" NOT NULL,
    last_event_id BIGINT NOT NULL,
    looked_at     TIMESTAMP WITH TIME ZONE NOT NULL,
    PRIMARY KEY (session_id, agent_id)
);

-- Added: the planner's analyses, so create_task_distribution works from what
-- analyze_task_conflicts found in this session rather than from what a client
-- sends back. JSON, not JSONB: the body is read back exactly as written.
CREATE TABLE task_analyses (
    id         VARCHAR COLLATE "C" PRIMARY KEY,
    session_id VARCHAR COLLATE "C" NOT NULL REFERENCES claude_code_sessions(id) ON DELETE CASCADE,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    body       JSON NOT NULL
);
CREATE INDEX idx_task_analyses_session ON task_analyses(session_id);

-- Version 2: claims waiting for their paths (claim_file_lock with wait_seconds), so that
-- the dashboards of every coordinator can show them. Each coordinator's
-- in-memory queue decides who goes first among its own waiters; this is only
-- a mirror: a row is written when a claim's first attempt conflicts and
-- deleted when it stops waiting (granted, timed out, or its client gone).
-- Several coordinators share the table, so a starting one cannot tell a
-- crashed one's rows from a live one's: rows go at their deadline (the
-- sweepers delete them, readers skip them).
CREATE TABLE lock_waiters (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id  VARCHAR COLLATE "C" NOT NULL REFERENCES claude_code_sessions(id) ON DELETE CASCADE,
    agent_id    VARCHAR COLLATE "C" NOT NULL,
    operation   VARCHAR NOT NULL CHECK (operation IN ('read', 'write', 'delete')),
    -- The claim's normalised paths, a JSON array (a claim takes all or none).
    file_paths  JSONB NOT NULL,
    since       TIMESTAMP WITH TIME ZONE NOT NULL,
    deadline    TIMESTAMP WITH TIME ZONE NOT NULL
);
-- The live waiters, for the dashboard's snapshot and `ccmulti status`.
CREATE INDEX idx_lock_waiters_deadline ON lock_waiters(deadline);

-- Version 3: a lock hands over the change, not only the turn.
-- Where each path's latest content is: recorded when an agent in a worktree
-- of its own ends a write or delete lock on a file it changed and committed
-- (or, forced or expired, left uncommitted). The newest row of a path is its
-- latest version; older rows stay as history (`ccmulti team land` orders the
-- branches by them). Written under the session's advisory lock, like the
-- locks whose ending writes them.
CREATE TABLE path_versions (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id       VARCHAR COLLATE "C" NOT NULL REFERENCES claude_code_sessions(id) ON DELETE CASCADE,
    file_path        VARCHAR COLLATE "C" NOT NULL,
    agent_id         VARCHAR COLLATE "C" NOT NULL,
    host             TEXT,
    worktree         TEXT NOT NULL,
    branch           TEXT,
    -- The commit that holds it; NULL when the lock ended with the changes
    -- left uncommitted and nothing of them committed.
    commit_id        TEXT,
    -- The file's blob in that commit; NULL when the commit deleted the file.
    blob_id          TEXT,
    -- The lock ended (forced, expired) with changes to the file not committed.
    left_uncommitted BOOLEAN NOT NULL DEFAULT FALSE,
    recorded_at      TIMESTAMP WITH TIME ZONE NOT NULL
);
-- A path's latest version (a claim, a release), and a session's history.
CREATE INDEX idx_path_versions_latest ON path_versions(session_id, file_path, id);

-- Versions a grant told its holder to bring in, not brought in yet: shown on
-- the dashboard and in check_agent_status until the holder has them. They go
-- with the lock.
CREATE TABLE pending_handovers (
    lock_id    UUID NOT NULL REFERENCES file_locks(id) ON DELETE CASCADE,
    version_id BIGINT NOT NULL REFERENCES path_versions(id) ON DELETE CASCADE,
    PRIMARY KEY (lock_id, version_id)
);
-- The version's side of the foreign key (a forgotten session's versions go).
CREATE INDEX idx_pending_handovers_version ON pending_handovers(version_id);
