DROP TABLE ops.medallion_switches;
DROP TABLE ops.medallion_log;
DROP TABLE ops.medallion_checkpoints;
