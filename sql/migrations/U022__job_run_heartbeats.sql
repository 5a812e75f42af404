DROP TABLE ops.job_run_heartbeats;
