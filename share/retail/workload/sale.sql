-- One sale: a store (bigger stores, with lower ids, more often), one to five products with a
-- hot-product skew (Zipf over products.popularity_rank), each line at the current price. Stock
-- rows are locked in product order (no deadlocks between concurrent sales); a product the store
-- has too few of is left out of the sale (no lines left: no sale); every line decrements the
-- stock level and writes a 'sale' movement, so the level stays the sum of its movements.
-- Run: pgbench -n -f sale.sql@90 -f restock.sql@8 -f price_change.sql@2 -c 4 -T 60 DBNAME
SELECT stores, products, customers FROM retail.dataset \gset
\set store random_exponential(1, :stores, 3.0)
\set customer random(1, 2 * :customers)
\set lines random_exponential(1, 5, 1.5)
\set r1 random_zipfian(1, :products, 1.05)
\set r2 random_zipfian(1, :products, 1.05)
\set r3 random_zipfian(1, :products, 1.05)
\set r4 random_zipfian(1, :products, 1.05)
\set r5 random_zipfian(1, :products, 1.05)
\set q1 random_exponential(1, 4, 2.0)
\set q2 random_exponential(1, 4, 2.0)
\set q3 random_exponential(1, 4, 2.0)
\set q4 random_exponential(1, 4, 2.0)
\set q5 random_exponential(1, 4, 2.0)
BEGIN;
-- served: the lines this store can serve, their stock rows locked in product order.
WITH pick AS MATERIALIZED (
  SELECT p.product_id, min(w.ord) AS ord, min(w.quantity) AS quantity, pr.price AS unit_price
  FROM (VALUES (1, :r1, :q1), (2, :r2, :q2), (3, :r3, :q3), (4, :r4, :q4), (5, :r5, :q5)) w(ord, rank, quantity)
  JOIN retail.products p ON p.popularity_rank = w.rank
  JOIN retail.prices pr ON pr.product_id = p.product_id AND pr.valid_to IS NULL
  WHERE w.ord <= :lines
  GROUP BY p.product_id, pr.price
), served AS MATERIALIZED (
  SELECT k.product_id, k.ord, k.quantity, k.unit_price
  FROM retail.stock_levels s JOIN pick k ON k.product_id = s.product_id
  WHERE s.store_id = :store AND s.quantity >= k.quantity
  ORDER BY s.product_id
  FOR UPDATE OF s
), sale AS (
  INSERT INTO retail.sales (store_id, customer_id, sold_at, total, payment)
  SELECT :store, CASE WHEN :customer <= :customers THEN :customer END, clock_timestamp(),
         sum(quantity * unit_price), (array['card', 'cash', 'mobile', 'voucher'])[1 + :customer % 4]
  FROM served HAVING count(*) > 0
  RETURNING sale_id, sold_at
), lines AS (
  INSERT INTO retail.sale_lines (sale_id, line_no, product_id, quantity, unit_price, amount)
  SELECT sale.sale_id, row_number() OVER (ORDER BY k.ord), k.product_id, k.quantity, k.unit_price,
         k.quantity * k.unit_price
  FROM sale, served k
), stock AS (
  UPDATE retail.stock_levels s SET quantity = s.quantity - k.quantity, updated_at = sale.sold_at
  FROM sale, served k
  WHERE s.store_id = :store AND s.product_id = k.product_id
)
INSERT INTO retail.stock_movements (store_id, product_id, moved_at, quantity, reason, sale_id)
SELECT :store, k.product_id, sale.sold_at, -k.quantity, 'sale', sale.sale_id
FROM sale, served k;
END;
