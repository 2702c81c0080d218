-- One stage of a run, recorded when it finishes.
INSERT INTO audit.run_stages (run_id, stage, started_at, seconds, rows_in, rows_out, detail)
VALUES ($run_id, $stage, $started_at, $seconds, $rows_in, $rows_out, $detail)
