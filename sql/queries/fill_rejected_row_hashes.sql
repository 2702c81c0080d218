-- Record the keyed hash of rejected rows that lack one (_hearth_frame: delivery_date,
-- source, _file, _row, record, row_hash). Only a missing hash is written: a recorded hash
-- is never changed, so audit.quarantine stays a trail nothing rewrites.
UPDATE restricted.rejected_rows AS t
SET row_hash = f.row_hash
FROM _hearth_frame AS f
WHERE t.row_hash IS NULL AND t.delivery_date = f.delivery_date AND t.source = f.source
  AND t._file = f._file AND t._row = f._row AND t.record = f.record;

UPDATE audit.quarantine AS t
SET row_hash = f.row_hash
FROM (SELECT * FROM _hearth_frame QUALIFY row_number() OVER (PARTITION BY delivery_date, source, _file, _row ORDER BY record) = 1) AS f
WHERE t.row_hash IS NULL AND t.delivery_date = f.delivery_date AND t.source = f.source
  AND t._file = f._file AND t._row = f._row;
