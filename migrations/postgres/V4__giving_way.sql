-- Version 4: a lock the edit hook took gives way to another agent's claim
-- once its holder has not edited the file for a while (issue 24, item 5). As
-- migrations/sqlite/V4; frozen.

-- When the lock stops holding off another agent's claim; NULL: it holds for
-- its whole lease.
ALTER TABLE file_locks ADD COLUMN yields_at TIMESTAMP WITH TIME ZONE;
