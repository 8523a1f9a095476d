-- The predictive pacer's 30-day ledger (issue #12): per mode and day (days
-- since the pacer's epoch, a local midnight in the mode's zone), the lines
-- dialled, live answers and abandons. The 3 % abandon rule runs over 30
-- days (FTC TSR 16 CFR 310.4(b)(4)(i), FCC 47 CFR 64.1200(a)(7)); a restart
-- must not forget the month, so each line event writes its day's counts.
CREATE TABLE pacer_days (
    mode       TEXT NOT NULL,
    day        BIGINT NOT NULL,
    dialled    BIGINT NOT NULL,
    answered   BIGINT NOT NULL,
    abandoned  BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (mode, day)
);
