-- Realistic data set for bench/backup_vs_pgbackrest.sh --data realistic.
-- Run with: psql -v scale=N -f realistic_load.sql
-- Sized so that scale N takes about the same space as pgbench scale N (~16 MB per unit):
-- 10,000 customers and 100,000 orders per unit. Text comes from small vocabularies mixed
-- with numbers, md5 fragments and ordered timestamps, so the heap files compress roughly
-- 3-4x with zstd level 1 (about 2.5x with lz4), much like real shop data (pgbench's
-- blank-padded rows compress 40x, which flatters every compressor).
\set ON_ERROR_STOP on
DROP TABLE IF EXISTS orders, customers;

CREATE TABLE customers (
  customer_id bigint PRIMARY KEY,
  name        text NOT NULL,
  email       text NOT NULL,
  city        text NOT NULL,
  street      text NOT NULL,
  phone       text NOT NULL,
  segment     text NOT NULL,
  created_at  timestamptz NOT NULL,
  balance     numeric(12,2) NOT NULL
);

CREATE TABLE orders (
  order_id    bigint PRIMARY KEY,
  customer_id bigint NOT NULL,
  status      text NOT NULL,
  ordered_at  timestamptz NOT NULL,
  amount      numeric(12,2) NOT NULL,
  items       int NOT NULL,
  channel     text NOT NULL,
  ref         text NOT NULL,
  note        text
);

INSERT INTO customers
SELECT i,
  (array['Anna','Ben','Carla','David','Eva','Frank','Grace','Hugo',
         'Ines','Jan','Karin','Luis','Maria','Nils','Olga','Paul'])[1 + floor(random() * 16)]
    || ' ' || initcap(substr(md5(i::text), 1, 3 + (i % 6))),
  lower(substr(md5(i::text || 'e'), 1, 8)) || '@'
    || (array['example.com','mail.net','shop.org','post.de','web.fr'])[1 + floor(random() * 5)],
  (array['Berlin','Hamburg','Munich','Cologne','Lyon','Paris','Madrid','Porto',
         'Milan','Vienna','Zurich','Prague'])[1 + floor(random() * 12)],
  (1 + floor(random() * 200))::int || ' '
    || (array['North','South','East','West','Green','River','Hill','Park','Lake','Stone',
              'Market','Station','Church','Mill','Bridge','Oak','Elm','Cedar','King','Queen'])[1 + floor(random() * 20)]
    || ' ' || (array['Street','Road','Lane','Avenue','Way'])[1 + floor(random() * 5)],
  '+49 ' || lpad(floor(random() * 1e9)::bigint::text, 9, '0'),
  (array['retail','retail','retail','business','vip'])[1 + floor(random() * 5)],
  date_trunc('second', timestamptz '2019-01-01' + random() * interval '5 years'),
  round((random() * 1000)::numeric, 2)
FROM generate_series(1, 10000 * :scale) AS i;

INSERT INTO orders
SELECT i,
  1 + floor(random() * 10000 * :scale)::bigint,
  (array['new','paid','shipped','shipped','delivered','delivered','delivered','returned'])[1 + floor(random() * 8)],
  timestamptz '2022-01-01' + (i::float8 / (100000 * :scale)) * interval '2 years'
    + date_trunc('second', random() * interval '10 minutes'),
  round((random() * 500)::numeric, 2),
  1 + floor(random() * 9)::int,
  (array['store','web','app','phone'])[1 + floor(random() * 4)],
  'ORD-' || lpad(i::text, 10, '0'),
  CASE WHEN random() < 0.3 THEN
    (array['gift wrap please','leave at the door','call before delivery','fragile','express',
           'customer asked for invoice by mail','second attempt','pickup in store'])[1 + floor(random() * 8)]
    || ' ' || substr(md5(random()::text), 1, floor(random() * 16)::int)
  END
FROM generate_series(1, 100000 * :scale) AS i;

CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE SEQUENCE orders_order_id_seq OWNED BY orders.order_id;
SELECT setval('orders_order_id_seq', max(order_id)) FROM orders;
ALTER TABLE orders ALTER COLUMN order_id SET DEFAULT nextval('orders_order_id_seq');

VACUUM ANALYZE customers;
VACUUM ANALYZE orders;
