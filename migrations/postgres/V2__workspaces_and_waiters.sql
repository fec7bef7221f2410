-- Version 2: what the dashboard shows of a team (issue 12): where each agent
-- works, and the claims waiting on a lock. As migrations/sqlite/V2; frozen.

-- Where the agent works, set by whoever starts it (`ccmulti team`): the path of
-- its git worktree and, when it is on one, its branch. NULL for an agent that
-- only ever connected by itself.
ALTER TABLE claude_code_agents ADD COLUMN worktree TEXT;
ALTER TABLE claude_code_agents ADD COLUMN branch TEXT;

-- Claims waiting for their paths (claim_file_lock with wait_seconds), so that
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
