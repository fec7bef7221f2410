-- Version 3: a lock hands over the change, not only the turn (issue 24).
-- Between agents that each work in a git worktree of their own, the release
-- of a file records where its latest version is, and a grant tells the next
-- holder to bring it in. Frozen once released (see V1).

-- The machine an agent works on, beside its worktree (V2): the same path on
-- two machines is two clones. NULL when whoever recorded it did not say.
ALTER TABLE claude_code_agents ADD COLUMN host TEXT;

-- Where each path's latest content is: recorded when an agent in a worktree
-- of its own ends a write or delete lock on a file it changed and committed
-- (or, forced or expired, left uncommitted). The newest row of a path is its
-- latest version; older rows stay as history (`ccmulti team land` orders the
-- branches by them). AUTOINCREMENT: ids are never reused, so they order rows
-- in time whatever is deleted.
CREATE TABLE path_versions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id       TEXT NOT NULL REFERENCES claude_code_sessions(id) ON DELETE CASCADE,
    file_path        TEXT NOT NULL,
    agent_id         TEXT NOT NULL,
    host             TEXT,
    worktree         TEXT NOT NULL,
    branch           TEXT,
    -- The commit that holds it; NULL when the lock ended with the changes
    -- left uncommitted and nothing of them committed.
    commit_id        TEXT,
    -- The file's blob in that commit; NULL when the commit deleted the file.
    blob_id          TEXT,
    -- The lock ended (forced, expired) with changes to the file not committed.
    left_uncommitted INTEGER NOT NULL DEFAULT 0 CHECK (left_uncommitted IN (0, 1)),
    recorded_at      TEXT NOT NULL
);
-- A path's latest version (a claim, a release), and a session's history.
CREATE INDEX idx_path_versions_latest ON path_versions(session_id, file_path, id);

-- Versions a grant told its holder to bring in, not brought in yet: shown on
-- the dashboard and in check_agent_status until the holder has them. They go
-- with the lock.
CREATE TABLE pending_handovers (
    lock_id    TEXT NOT NULL REFERENCES file_locks(id) ON DELETE CASCADE,
    version_id INTEGER NOT NULL REFERENCES path_versions(id) ON DELETE CASCADE,
    PRIMARY KEY (lock_id, version_id)
);
-- The version's side of the foreign key (a forgotten session's versions go).
CREATE INDEX idx_pending_handovers_version ON pending_handovers(version_id);

PRAGMA user_version = 3;
