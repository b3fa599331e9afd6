-- A line of ``messages`` may now omit its event id: "<key> TAB <type> TAB
-- <payload>", with no tab in the payload. Its id is then the row's
-- ``event_id`` with the line's position, counted from 0, XORed into the last
-- 48 bits (see ``shared.outbox.grouped_event_id``). Rows written before this
-- migration keep the id in each line, as a third field.
CREATE OR REPLACE VIEW outbox_events AS
SELECT id, 1::bigint AS position, event_id, topic, key, type, payload,
       created_at, published_at, failed_at
FROM outbox
WHERE messages IS NULL
UNION ALL
SELECT o.id, m.position,
       CASE
           WHEN m.with_id THEN split_part(m.line, E'\t', 3)::uuid
           ELSE overlay(
               o.event_id::text
               PLACING lpad(to_hex(
                   ('x' || right(o.event_id::text, 12))::bit(48)::bigint
                   # (m.position - 1)), 12, '0')
               FROM 25 FOR 12)::uuid
       END,
       o.topic, split_part(m.line, E'\t', 1), split_part(m.line, E'\t', 2),
       CASE
           WHEN m.with_id THEN substring(m.line FROM '^(?:[^\t]*\t){3}(.*)$')
           ELSE substring(m.line FROM '^(?:[^\t]*\t){2}(.*)$')
       END::jsonb,
       o.created_at, o.published_at, o.failed_at
FROM outbox AS o,
     LATERAL (
         SELECT l.line, l.position,
                l.line ~ '^(?:[^\t]*\t){3}' AS with_id
         FROM unnest(string_to_array(rtrim(o.messages, E'\n'), E'\n'))
             WITH ORDINALITY AS l(line, position)
     ) AS m
WHERE o.messages IS NOT NULL;
