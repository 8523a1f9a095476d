-- One money vocabulary (issue #9): amounts in minor units at the scale ISO 4217
-- gives the currency (PKR 2, JPY 0, KWD 3), for orders and payments alike.
--
-- orders.amount_minor is new: the merchant's decimal text (kept in orders.amount,
-- echoed by the API as sent) converted here without a float, digit by digit.
-- Orders could hold up to 4 decimals before; a row with more decimals than its
-- currency has is rounded half up to the currency's scale (the text keeps what the
-- merchant sent). A code that is not ISO 4217 (accepted before) keeps 2 decimals,
-- as `money::Currency::stored` reads it.
--
-- payments.amount_minor was in hundredths for every currency; it moves to the
-- currency's own scale (JPY 2500.00 = 250000 becomes 2500; KWD 1.50 = 150 becomes
-- 1500), never below 1 (the column's CHECK).
--
-- Zero decimals: 'BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF'.
-- Three decimals: 'BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND'.
-- Four decimals: 'CLF', 'UYW'.

ALTER TABLE orders ADD COLUMN amount_minor INTEGER NOT NULL DEFAULT 0;

UPDATE orders SET amount_minor = CASE
    WHEN currency IN ('BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF')
        THEN ((CAST(CASE WHEN instr(amount, '.') > 0 THEN substr(amount, 1, instr(amount, '.') - 1) ELSE amount END AS INTEGER) * 10000 + CAST(CASE WHEN instr(amount, '.') > 0 THEN substr(substr(amount, instr(amount, '.') + 1) || '0000', 1, 4) ELSE '0000' END AS INTEGER)) + 5000) / 10000
    WHEN currency IN ('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND')
        THEN ((CAST(CASE WHEN instr(amount, '.') > 0 THEN substr(amount, 1, instr(amount, '.') - 1) ELSE amount END AS INTEGER) * 10000 + CAST(CASE WHEN instr(amount, '.') > 0 THEN substr(substr(amount, instr(amount, '.') + 1) || '0000', 1, 4) ELSE '0000' END AS INTEGER)) + 5) / 10
    WHEN currency IN ('CLF', 'UYW')
        THEN (CAST(CASE WHEN instr(amount, '.') > 0 THEN substr(amount, 1, instr(amount, '.') - 1) ELSE amount END AS INTEGER) * 10000 + CAST(CASE WHEN instr(amount, '.') > 0 THEN substr(substr(amount, instr(amount, '.') + 1) || '0000', 1, 4) ELSE '0000' END AS INTEGER))
    ELSE ((CAST(CASE WHEN instr(amount, '.') > 0 THEN substr(amount, 1, instr(amount, '.') - 1) ELSE amount END AS INTEGER) * 10000 + CAST(CASE WHEN instr(amount, '.') > 0 THEN substr(substr(amount, instr(amount, '.') + 1) || '0000', 1, 4) ELSE '0000' END AS INTEGER)) + 50) / 100
END;

UPDATE payments SET amount_minor = CASE
    WHEN currency IN ('BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF', 'XOF', 'XPF')
        THEN max(1, (amount_minor + 50) / 100)
    WHEN currency IN ('BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND')
        THEN amount_minor * 10
    WHEN currency IN ('CLF', 'UYW')
        THEN amount_minor * 100
    ELSE amount_minor
END;
