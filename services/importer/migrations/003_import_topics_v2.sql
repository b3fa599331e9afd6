-- The import topics' version 2 carries batches of events, which the relay
-- packs when it publishes a row (see shared/contracts/topics.py). Nothing
-- reads version 1 any more: rows it would get go to version 2 instead, those
-- not yet published and those that an operator marks unpublished to replay.
UPDATE outbox SET topic = 'educonnect.import.responsables.v2'
WHERE topic = 'educonnect.import.responsables.v1';
UPDATE outbox SET topic = 'educonnect.import.eleves.v2'
WHERE topic = 'educonnect.import.eleves.v1';
