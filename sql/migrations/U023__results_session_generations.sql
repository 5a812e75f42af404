ALTER TABLE results.segment_results DROP COLUMN run_id;
ALTER TABLE results.segment_results DROP COLUMN topic;
ALTER TABLE results.segment_results DROP COLUMN generation;
ALTER TABLE results.generation_status DROP COLUMN generation;
