-- The links topic's version 2 carries batches of events, which the relay
-- packs when it publishes a row (see shared/contracts/topics.py). Rows that
-- version 1 would get go to version 2 instead: those not yet published, and
-- those that an operator marks unpublished to replay. The notifier reads both
-- versions, so messages already in version 1 are still delivered.
UPDATE outbox SET topic = 'educonnect.links.v2'
WHERE topic = 'educonnect.links.v1';
