-- Persona quality (issue 13): the calibration map that makes `confidence` mean what it says, the fits
-- of the weights with their before/after report (reviewable, undoable), and the demo seeder's record of
-- each demo shopper's latent persona (only the embedded demo database ever fills it).
--
-- ref.persona_calibration: per kind ('persona' = a persona was assigned, keyed on the winner's score;
-- 'fallback' = Regular, keyed on the best score of any rule, -1000000 when none matched), the bands
-- in ascending order of their lower bound; a score in band k gets confidence k. No rows: the
-- uncalibrated confidence (the winner's share of the passing scores).
CREATE TABLE ref.persona_calibration (
    kind NVARCHAR(20) NOT NULL,
    band_no INT NOT NULL,
    lower_bound INT NOT NULL,
    confidence DECIMAL(5, 4) NOT NULL,
    PRIMARY KEY (kind, band_no)
);
-- One row per `scout personas fit`: the weights and calibration before and after (JSON), the held-out
-- report that decided, and whether it was applied; `scout personas fit --undo` restores the `_before`
-- of the latest applied fit and sets rolled_back_at.
CREATE TABLE ref.persona_fits (
    fit_id NVARCHAR(36) NOT NULL PRIMARY KEY,
    fit_no INT NOT NULL UNIQUE,
    fitted_at DATETIME2 NOT NULL,
    applied BIT NOT NULL,
    fit_method NVARCHAR(200) NOT NULL,
    weights_before NVARCHAR(MAX) NOT NULL,
    weights_after NVARCHAR(MAX) NOT NULL,
    calibration_before NVARCHAR(MAX) NOT NULL,
    calibration_after NVARCHAR(MAX) NOT NULL,
    report NVARCHAR(MAX) NOT NULL,
    rolled_back_at DATETIME2 NULL
);
-- Demo only: the persona the seeder drew for each synthetic shopper ('Regular' for none), so the
-- evaluation can be checked against the truth. Production never fills it.
CREATE TABLE ref.demo_latent_personas (
    canonical_tx_id NVARCHAR(64) NOT NULL PRIMARY KEY,
    persona NVARCHAR(100) NOT NULL
);
