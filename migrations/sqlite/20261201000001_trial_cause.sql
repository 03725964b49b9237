-- The typed half of a finished trial's reason: for FAIL the failure kind
-- (error, timeout, interrupted, stale, sampler, told), for PRUNED the rule
-- (partial-order, dominated, median, hyperband, told). Decisions read this
-- column; `reason` is the sentence shown to people.
ALTER TABLE trials ADD COLUMN cause TEXT;

-- Trials recorded before the column existed: what their reasons said.
UPDATE trials SET cause = 'partial-order' WHERE state = 'PRUNED' AND reason LIKE 'partial-order%';
UPDATE trials SET cause = 'dominated' WHERE state = 'PRUNED' AND reason LIKE 'dominated%';
UPDATE trials SET cause = 'median' WHERE state = 'PRUNED' AND reason LIKE 'median%';
UPDATE trials SET cause = 'hyperband' WHERE state = 'PRUNED' AND reason LIKE 'hyperband%';
UPDATE trials SET cause = 'told' WHERE state = 'PRUNED' AND cause IS NULL;
UPDATE trials SET cause = 'interrupted' WHERE state = 'FAIL' AND reason LIKE 'interrupted%';
UPDATE trials SET cause = 'stale' WHERE state = 'FAIL' AND reason LIKE 'worker %';
UPDATE trials SET cause = 'sampler' WHERE state = 'FAIL' AND reason LIKE 'sampler failed%';
UPDATE trials SET cause = 'timeout' WHERE state = 'FAIL' AND reason LIKE 'timed out%';
UPDATE trials SET cause = 'error' WHERE state = 'FAIL' AND cause IS NULL;
