// A database that exercises what a physical backup must carry: schemas, TOAST-sized values, large
// objects, an index of each access method, an unlogged table (stock.scratch, which a restore brings
// back empty) and a table with its index in a second tablespace ("extra", at tablespace_dir).
#pragma once

#include <string>

#include "harness/pg_cluster.h"

namespace pgdr::test {

inline void build_rich_database(PgCluster& c, const std::string& tablespace_dir) {
  c.psql("CREATE EXTENSION amcheck; CREATE EXTENSION btree_gist; CREATE EXTENSION pg_trgm;");
  c.psql("CREATE TABLESPACE extra LOCATION '" + tablespace_dir + "'");
  c.psql(R"SQL(
    CREATE SCHEMA sales; CREATE SCHEMA stock;
    CREATE TABLE sales.orders (id bigserial PRIMARY KEY, customer int NOT NULL, placed timestamptz NOT NULL,
                               note text, tags text[], doc jsonb, span int4range, pt point);
    INSERT INTO sales.orders (customer, placed, note, tags, doc, span, pt)
      SELECT g % 997, now() - g * interval '1 minute', md5(g::text) || repeat('x', g % 50),
             ARRAY[md5(g::text), (g % 7)::text], jsonb_build_object('k', g, 'v', md5(g::text)),
             int4range(g, g + 10), point(g % 100, g % 37)
      FROM generate_series(1, 20000) g;
    CREATE INDEX orders_customer_hash ON sales.orders USING hash (customer);
    CREATE INDEX orders_tags_gin ON sales.orders USING gin (tags);
    CREATE INDEX orders_note_trgm ON sales.orders USING gin (note gin_trgm_ops);
    CREATE INDEX orders_span_gist ON sales.orders USING gist (span);
    CREATE INDEX orders_pt_spgist ON sales.orders USING spgist (pt);
    CREATE INDEX orders_placed_brin ON sales.orders USING brin (placed);
    CREATE TABLE stock.documents (id int PRIMARY KEY, body text) TABLESPACE extra;
    INSERT INTO stock.documents SELECT g, string_agg(md5((g * 1000 + i)::text), '') FROM generate_series(1, 200) g,
      generate_series(1, 400) i GROUP BY g;
    CREATE INDEX documents_body ON stock.documents (left(body, 20)) TABLESPACE extra;
    CREATE UNLOGGED TABLE stock.scratch (id int, v text);
    INSERT INTO stock.scratch SELECT g, md5(g::text) FROM generate_series(1, 5000) g;
    SELECT lo_from_bytea(0, convert_to(repeat(md5(g::text), 3000), 'UTF8')) FROM generate_series(1, 5) g;
  )SQL");
}

}  // namespace pgdr::test
