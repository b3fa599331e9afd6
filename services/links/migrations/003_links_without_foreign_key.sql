-- Links no longer check their pupil with a foreign key. A first import
-- inserts millions of links, and the check cost a query and a lock of the
-- pupil's row for each one, a third of the insert. Links are inserted only
-- when an import applies their pupil, after it stored that pupil in the same
-- transaction, and pupils are never deleted (they stop being enrolled).
ALTER TABLE links DROP CONSTRAINT links_eleve_id_fkey;
