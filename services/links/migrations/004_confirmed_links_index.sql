-- Confirmed links by pupil. Each import of a pupil, and of a responsable
-- whose links arrived first, asks whether the pupil has a confirmed link
-- from another source, whose confirmation may carry over. Those questions
-- now read this index, which holds only confirmed links, instead of every
-- link of the pupil.
CREATE INDEX links_confirmed_by_eleve ON links (eleve_id) WHERE state = 'confirmed';
