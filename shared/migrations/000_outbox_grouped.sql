-- Events written together (a batch of an import, the links of a batch of
-- pupils) share one row: ``messages`` contains one line per event,
-- "<key> TAB <type> TAB <event id> TAB <payload>", in publication order, and
-- ``payload`` is NULL. The row's key, type, event id and headers are those of
-- its first event; the relay derives the headers of the others from them.
ALTER TABLE outbox ADD COLUMN messages text;
-- A grouped row contains hundreds of kilobytes: lz4 compresses them about as
-- well as the default pglz in a fifth of the time.
ALTER TABLE outbox ALTER COLUMN messages SET COMPRESSION lz4;
ALTER TABLE outbox ADD COLUMN message_count integer NOT NULL DEFAULT 1;
ALTER TABLE outbox ALTER COLUMN payload DROP NOT NULL;
ALTER TABLE outbox ADD CONSTRAINT outbox_payload_or_messages
    CHECK ((payload IS NULL) <> (messages IS NULL));

-- One row per event, grouped or not, in publication order (id, position).
CREATE VIEW outbox_events AS
SELECT id, 1::bigint AS position, event_id, topic, key, type, payload,
       created_at, published_at, failed_at
FROM outbox
WHERE messages IS NULL
UNION ALL
SELECT o.id, m.position, split_part(m.line, E'\t', 3)::uuid, o.topic,
       split_part(m.line, E'\t', 1), split_part(m.line, E'\t', 2),
       substring(m.line FROM '^(?:[^\t]*\t){3}(.*)$')::jsonb,
       o.created_at, o.published_at, o.failed_at
FROM outbox AS o,
     unnest(string_to_array(rtrim(o.messages, E'\n'), E'\n'))
         WITH ORDINALITY AS m(line, position)
WHERE o.messages IS NOT NULL;
