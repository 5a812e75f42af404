-- Results sessions have one generation at a time, and every stored segment says which one wrote it.
-- A generate claims the session by writing a new generation token, conditionally on the token it found
-- (under the session's application lock), then starts its run; reads serve a segment only when its
-- generation is the session's current one, so results of a superseded generation are never served.
-- generation: the token (a UUID made by the generate) of the session's current generation; NULL for a
-- session written before this version (its segments have NULL too, and match it).
ALTER TABLE results.generation_status ADD generation NVARCHAR(36) NULL;
-- generation: the generation that wrote the segment (the session's token at the time).
ALTER TABLE results.segment_results ADD generation NVARCHAR(36) NULL;
-- topic: the topic of that generation.
ALTER TABLE results.segment_results ADD topic NVARCHAR(200) NULL;
-- run_id: that generation's Monte Carlo run (results.montecarlo_runs.run_id).
ALTER TABLE results.segment_results ADD run_id NVARCHAR(36) NULL;
