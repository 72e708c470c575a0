-- Migration 019 took every booked night whose units or factor differed from
-- its pool's for one staff had given values of its own. Most were not: before
-- 019 a night kept the pool's values of the day it was first booked, so a
-- pool cut from 10 rooms to 6 left its busy nights at 10 — marked as staff's
-- own, they kept selling 10 after the upgrade and every later change of the
-- pool passed them by. The audit log names every range staff edited (action
-- nights.…set_units / set_factor, subject "pool CODE FROM..TO", TO excluded):
-- a night is staff's own only where an edit covered it. The others take the
-- pool's values at its next change.
WITH edits AS (
    SELECT a.property_id, p.id AS pool_id, m[2]::date AS from_night, m[3]::date AS to_night,
        a.action LIKE '%set\_units%' AS units, a.action LIKE '%set\_factor%' AS factor
    FROM audit_log a
    CROSS JOIN LATERAL regexp_match(a.subject, '^pool (\S+) (\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$') AS m
    JOIN pools p ON p.property_id = a.property_id AND p.code = m[1]
    WHERE a.action LIKE 'nights.%'
)
UPDATE nights n SET
    units_set = n.units_set AND EXISTS (SELECT 1 FROM edits e WHERE e.units AND e.property_id = n.property_id
        AND e.pool_id = n.pool_id AND n.night >= e.from_night AND n.night < e.to_night),
    factor_set = n.factor_set AND EXISTS (SELECT 1 FROM edits e WHERE e.factor AND e.property_id = n.property_id
        AND e.pool_id = n.pool_id AND n.night >= e.from_night AND n.night < e.to_night)
WHERE n.units_set OR n.factor_set;

---- create above / drop below ----

-- Nothing to undo: the flags stay as they are (019's down drops them).
SELECT;
