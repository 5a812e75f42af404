DROP TABLE ops.job_runs;
