-- Version 2: what the dashboard shows of a team (issue 12): where each agent
-- works, and the claims waiting on a lock. Frozen once released (see V1).

-- Where the agent works, set by whoever starts it (`ccmulti team`): the path of
-- its git worktree and, when it is on one, its branch. NULL for an agent that
-- only ever connected by itself.
ALTER TABLE claude_code_agents ADD COLUMN worktree TEXT;
ALTER TABLE claude_code_agents ADD COLUMN branch TEXT;

-- Claims waiting for their paths (claim_file_lock with wait_seconds), so that
-- a dashboard in another process can show them. The coordinator's in-memory
-- queue decides who goes first; this is only its mirror: a row is written when
-- a claim's first attempt conflicts and deleted when it stops waiting
-- (granted, timed out, or its client gone). The coordinator empties the table
-- when it starts (rows a crashed one left behind), and readers skip rows past
-- their deadline.
CREATE TABLE lock_waiters (
    id          INTEGER PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES claude_code_sessions(id) ON DELETE CASCADE,
    agent_id    TEXT NOT NULL,
    operation   TEXT NOT NULL CHECK (operation IN ('read', 'write', 'delete')),
    -- The claim's normalised paths, a JSON array (a claim takes all or none).
    file_paths  TEXT NOT NULL CHECK (json_valid(file_paths)),
    since       TEXT NOT NULL,
    deadline    TEXT NOT NULL
);
-- The live waiters, for the dashboard's snapshot and `ccmulti status`.
CREATE INDEX idx_lock_waiters_deadline ON lock_waiters(deadline);

PRAGMA user_version = 2;
