-- Version 4: a lock the edit hook took gives way to another agent's claim
-- once its holder has not edited the file for a while (issue 24, item 5).
-- Frozen once released (see V1).

-- When the lock stops holding off another agent's claim: its last claim or
-- renewal plus the idle time that claim asked for. A claim of the file by
-- another agent from then on takes it over (an `expired` event). NULL: it
-- holds for its whole lease, as every lock did before.
ALTER TABLE file_locks ADD COLUMN yields_at TEXT;

PRAGMA user_version = 4;
