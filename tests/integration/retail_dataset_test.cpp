// The retail data set (share/retail) loaded through pgdr::demo into a real cluster: sizes follow
// the scale, foreign keys hold, sales have the intended shape (hot products, December, weekends),
// and the pgbench workload runs without errors while the stock ledger stays balanced.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "demo/retail_dataset.h"
#include "core/error.h"
#include "demo/retail_files.h"
#include "harness/pg_cluster.h"
#include "harness/temp_dir.h"

namespace pgdr::test {
namespace {

double number(const PgCluster& c, const std::string& sql, const std::string& db = "postgres") {
  return std::stod(c.psql(sql, db));
}

std::string read_source(const std::string& relative) {
  std::ifstream in(std::string(PGDR_SOURCE_DIR) + "/" + relative, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Rows of the stock ledger that disagree with their stock level, and sales whose total is not the
// sum of their lines: both must be zero whatever ran.
void expect_balanced(const PgCluster& c) {
  EXPECT_EQ(c.psql("SELECT count(*) FROM retail.stock_levels l LEFT JOIN (SELECT store_id, product_id, sum(quantity) q "
                   "FROM retail.stock_movements GROUP BY 1, 2) m USING (store_id, product_id) "
                   "WHERE m.q IS DISTINCT FROM l.quantity"),
            "0");
  EXPECT_EQ(c.psql("SELECT count(*) FROM retail.sales s LEFT JOIN (SELECT sale_id, sum(amount) a FROM retail.sale_lines "
                   "GROUP BY 1) l USING (sale_id) WHERE l.a IS DISTINCT FROM s.total"),
            "0");
  EXPECT_EQ(c.psql("SELECT count(*) FROM retail.sale_lines WHERE amount <> quantity * unit_price"), "0");
  // Exactly one current price per product.
  EXPECT_EQ(c.psql("SELECT count(*) FROM retail.products p WHERE (SELECT count(*) FROM retail.prices r "
                   "WHERE r.product_id = p.product_id AND r.valid_to IS NULL) <> 1"),
            "0");
}

TEST(RetailDatasetTest, EmbeddedFilesAreTheSourceFiles) {
  std::vector<std::string> names;
  for (const auto& f : demo::retail_files()) {
    names.push_back(std::string(f.name));
    EXPECT_EQ(std::string(f.text), read_source("share/retail/" + std::string(f.name))) << f.name;
  }
  EXPECT_EQ(names, (std::vector<std::string>{"schema.sql", "workload/price_change.sql", "workload/restock.sql",
                                             "workload/sale.sql"}));
  int weights = 0;
  for (const auto& s : demo::retail_workload()) {
    weights += s.weight;
    // The mix each file recommends in its comment is the one pgdr runs.
    EXPECT_NE(s.text.find(s.name + ".sql@" + std::to_string(s.weight)), std::string_view::npos) << s.name;
  }
  EXPECT_EQ(weights, 100);
}

TEST(RetailDatasetTest, LoadsWithItsShapeAndTheWorkloadKeepsTheLedger) {
  PgCluster c;
  c.psql("CREATE DATABASE bigger");

  std::vector<std::string> steps;
  int last_done = 0, last_total = 0;
  demo::load_retail(c.conninfo(), 0.05, [&](const std::string& step, int done, int total, double seconds) {
    steps.push_back(step);
    last_done = done;
    last_total = total;
    EXPECT_GE(seconds, 0.0);
  });
  EXPECT_EQ(steps, (std::vector<std::string>{"schema", "reference data", "prices", "customers", "sales", "stock",
                                             "daily sales", "analyze"}));
  EXPECT_EQ(last_done, 8);
  EXPECT_EQ(last_total, 8);
  demo::load_retail(c.conninfo("bigger"), 0.2);

  // Sizes: stores and products grow with the square root of the scale, everything sold linearly.
  EXPECT_EQ(c.psql("SELECT stores || ' ' || products || ' ' || customers FROM retail.dataset"), "9 559 1500");
  EXPECT_EQ(c.psql("SELECT count(*) FROM retail.stores") + " " + c.psql("SELECT count(*) FROM retail.products") + " " +
                c.psql("SELECT count(*) FROM retail.customers"),
            "9 559 1500");
  EXPECT_EQ(c.psql("SELECT count(*) FROM retail.stock_levels"), std::to_string(9 * 559));
  const double sales = number(c, "SELECT count(*) FROM retail.sales");
  EXPECT_NEAR(sales, 5000, 200);
  const double lines = number(c, "SELECT count(*) FROM retail.sale_lines");
  EXPECT_GT(lines / sales, 1.9);
  EXPECT_LT(lines / sales, 2.6);
  const double prices = number(c, "SELECT count(*) FROM retail.prices");
  EXPECT_GE(prices, 559);
  EXPECT_LE(prices, 4 * 559);
  const double bigger_sales = number(c, "SELECT count(*) FROM retail.sales", "bigger");
  const double bigger_levels = number(c, "SELECT count(*) FROM retail.stock_levels", "bigger");
  EXPECT_NEAR(bigger_sales / sales, 4.0, 0.25);
  EXPECT_NEAR(bigger_levels / (9 * 559), 4.0, 0.25);
  // Scale 1 is about 100 MB; scale 0.2 a fifth of that, give or take the fixed part.
  const double bigger_mb = number(c,
                                  "SELECT sum(pg_total_relation_size(c.oid)) / 1048576.0 FROM pg_class c "
                                  "WHERE c.relnamespace = 'retail'::regnamespace AND c.relkind IN ('r', 'm')",
                                  "bigger");
  EXPECT_GT(bigger_mb, 14);
  EXPECT_LT(bigger_mb, 30);

  // Foreign keys: all there, validated, and nothing points nowhere.
  EXPECT_EQ(c.psql("SELECT count(*) FILTER (WHERE convalidated) || '/' || count(*) FROM pg_constraint "
                   "WHERE contype = 'f' AND connamespace = 'retail'::regnamespace"),
            "11/11");
  for (const char* orphans : {
           "SELECT count(*) FROM retail.sale_lines l LEFT JOIN retail.sales s USING (sale_id) WHERE s.sale_id IS NULL",
           "SELECT count(*) FROM retail.sale_lines l LEFT JOIN retail.products p USING (product_id) "
           "WHERE p.product_id IS NULL",
           "SELECT count(*) FROM retail.sales s LEFT JOIN retail.customers c USING (customer_id) "
           "WHERE s.customer_id IS NOT NULL AND c.customer_id IS NULL",
           "SELECT count(*) FROM retail.stock_movements m LEFT JOIN retail.stock_levels l USING (store_id, product_id) "
           "WHERE l.store_id IS NULL",
           "SELECT count(*) FROM retail.prices r LEFT JOIN retail.products p USING (product_id) WHERE p.product_id IS NULL",
       })
    EXPECT_EQ(c.psql(orphans), "0") << orphans;

  // Hot products: the top 5 % of products carry more than 30 % of the sale lines.
  const double top_share = number(c,
                                  "SELECT sum(n) FILTER (WHERE r <= 0.05 * (SELECT count(*) FROM retail.products)) / sum(n) "
                                  "FROM (SELECT count(*) n, row_number() OVER (ORDER BY count(*) DESC) r "
                                  "FROM retail.sale_lines GROUP BY product_id) x");
  EXPECT_GT(top_share, 0.30);
  // Seasons: a December day sells far more than a spring-to-autumn day; Saturday more than Sunday;
  // bigger stores more than small ones.
  const double december = number(c,
                                 "SELECT avg(n) FROM (SELECT count(*) n FROM retail.sales "
                                 "WHERE extract(month FROM sold_at) = 12 GROUP BY sold_at::date) d");
  const double ordinary = number(c,
                                 "SELECT avg(n) FROM (SELECT count(*) n FROM retail.sales "
                                 "WHERE extract(month FROM sold_at) BETWEEN 3 AND 10 GROUP BY sold_at::date) d");
  EXPECT_GT(december / ordinary, 1.4);
  const double saturday = number(c, "SELECT count(*) FROM retail.sales WHERE extract(isodow FROM sold_at) = 6");
  const double sunday = number(c, "SELECT count(*) FROM retail.sales WHERE extract(isodow FROM sold_at) = 7");
  EXPECT_GT(saturday / sunday, 2.0);
  EXPECT_GT(number(c, "SELECT count(*) FROM retail.sales JOIN retail.stores USING (store_id) WHERE size_class = 'flagship'"),
            2 * number(c, "SELECT count(*) / 4.0 FROM retail.sales JOIN retail.stores USING (store_id) "
                          "WHERE size_class = 'small'"));
  const double loyal = number(c, "SELECT avg((customer_id IS NOT NULL)::int) FROM retail.sales");
  EXPECT_GT(loyal, 0.3);
  EXPECT_LT(loyal, 0.6);
  // The materialized view is filled and agrees with the sales.
  EXPECT_EQ(c.psql("SELECT (SELECT sum(revenue) FROM retail.daily_sales) = (SELECT sum(total) FROM retail.sales)"), "t");
  expect_balanced(c);

  // The workload, as pgdr demo runs it: four clients for a few seconds.
  TempDir scripts("pgdr-retail");
  std::vector<std::string> argv = {PgCluster::bin("pgbench"), "-n", "-c", "4", "-T", "4", "-h", "127.0.0.1", "-p",
                                   std::to_string(c.port())};
  for (const auto& a : demo::write_workload_scripts(scripts.path() + "/workload")) argv.push_back(a);
  argv.push_back("postgres");
  const std::string stock_before = c.psql("SELECT sum(quantity) FROM retail.stock_levels");
  const std::string last_movement = c.psql("SELECT max(movement_id) FROM retail.stock_movements");
  const double sales_before = number(c, "SELECT count(*) FROM retail.sales");
  auto run = PgCluster::run_as_server_user(argv);
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  EXPECT_NE(run.out.find("number of failed transactions: 0 (0.000%)"), std::string::npos) << run.out;
  EXPECT_EQ(run.err.find("error"), std::string::npos) << run.err;
  for (const char* script : {"sale.sql", "restock.sql", "price_change.sql"})
    EXPECT_NE(run.out.find(script), std::string::npos) << run.out;

  EXPECT_GT(number(c, "SELECT count(*) FROM retail.sales") - sales_before, 100);
  EXPECT_EQ(c.psql("SELECT max(sold_at) > now() - interval '1 minute' FROM retail.sales"), "t");
  EXPECT_GT(number(c, "SELECT count(*) FROM retail.prices WHERE valid_from > now() - interval '1 minute'"), 0);
  EXPECT_GT(number(c, "SELECT count(*) FROM retail.stock_movements WHERE reason = 'restock' AND moved_at > now() - "
                      "interval '1 minute'"),
            0);
  // Stock is conserved: the levels moved by exactly the movements written.
  EXPECT_EQ(c.psql("SELECT sum(quantity) - " + stock_before + " FROM retail.stock_levels"),
            c.psql("SELECT sum(quantity) FROM retail.stock_movements WHERE movement_id > " + last_movement));
  expect_balanced(c);
  EXPECT_EQ(c.psql("SELECT count(*) FROM retail.stock_levels WHERE quantity < 0"), "0");
}

TEST(RetailDatasetTest, RefusesAScaleOutOfRange) {
  for (double bad : {0.0, -1.0, 5000.0}) {
    try {
      demo::load_retail("host=127.0.0.1 port=1 dbname=none", bad);
      ADD_FAILURE() << "scale " << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::usage);
      EXPECT_NE(std::string(e.what()).find("invalid retail data set scale"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
}  // namespace pgdr::test
