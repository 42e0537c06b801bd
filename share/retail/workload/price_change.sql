-- A price change: the current price of one product ends now and a new one, 10 % lower to 15 %
-- higher, starts. Two concurrent changes of one product cannot both close the same price: the
-- second finds no current price left and changes nothing.
-- Run with sale.sql and restock.sql: pgbench -n -f sale.sql@90 -f restock.sql@8 -f price_change.sql@2
SELECT products FROM retail.dataset \gset
\set product random(1, :products)
BEGIN;
WITH now AS (
  SELECT clock_timestamp() AS ts
), closed AS (
  UPDATE retail.prices p SET valid_to = now.ts
  FROM now
  WHERE p.product_id = :product AND p.valid_to IS NULL AND p.valid_from < now.ts
  RETURNING p.product_id, p.price, now.ts
)
INSERT INTO retail.prices (product_id, valid_from, valid_to, price)
SELECT product_id, ts, NULL, greatest(0.01, round(price * (0.9 + random() * 0.25)::numeric, 2))
FROM closed;
END;
