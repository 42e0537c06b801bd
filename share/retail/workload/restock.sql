-- A delivery: one store receives whole packs of one product from its supplier; the products that
-- sell most are restocked most often (the same Zipf skew as sale.sql). The level and the ledger
-- change together.
-- Run with sale.sql and price_change.sql: pgbench -n -f sale.sql@90 -f restock.sql@8 -f price_change.sql@2
SELECT stores, products FROM retail.dataset \gset
\set store random_exponential(1, :stores, 3.0)
\set rank random_zipfian(1, :products, 1.05)
\set packs random(4, 20)
BEGIN;
WITH item AS (
  SELECT product_id, supplier_id, :packs * greatest(pack_size, 6) AS quantity
  FROM retail.products WHERE popularity_rank = :rank
), stock AS (
  UPDATE retail.stock_levels s SET quantity = s.quantity + item.quantity, updated_at = clock_timestamp()
  FROM item WHERE s.store_id = :store AND s.product_id = item.product_id
  RETURNING s.product_id
)
INSERT INTO retail.stock_movements (store_id, product_id, moved_at, quantity, reason, supplier_id)
SELECT :store, item.product_id, clock_timestamp(), item.quantity, 'restock', item.supplier_id
FROM item JOIN stock USING (product_id);
END;
