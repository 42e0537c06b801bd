#include "pg/control_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.h"
#include "core/little_endian.h"

namespace pgdr::pg {
namespace {

// The first 512 bytes of global/pg_control of a freshly initdb'd cluster of each major (the rest
// of the 8 KiB file is zeros and outside the CRC).
Bytes control_of(int major) {
  const auto path = std::filesystem::path(PGDR_UNIT_TEST_DIR) / "pg" / "data" / "control" /
                    ("pg_control_" + std::to_string(major) + ".bin");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + path.string());
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

std::string error_of(ByteView bytes) {
  try {
    parse_control_file(bytes, "/srv/pg/global/pg_control");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::corrupt);
    return e.what();
  }
  return "";
}

TEST(ControlFile, RealControlFilesOfEveryMajorParseWithTheirCrc) {
  const std::pair<int, std::uint32_t> formats[] = {{14, 1300}, {15, 1300}, {16, 1300}, {17, 1700}, {18, 1800}};
  for (const auto& [major, format] : formats) {
    const Bytes b = control_of(major);
    const ControlFile c = parse_control_file(b, "pg_control_" + std::to_string(major));
    EXPECT_EQ(c.pg_control_version, format) << major;
    EXPECT_EQ(c.system_identifier, get_u64le(b.data())) << major;
    EXPECT_GT(c.system_identifier, 0u);
    EXPECT_EQ(c.catalog_version / 100000, 2021u + static_cast<std::uint32_t>(major - 14)) << "catalog " << c.catalog_version;
    EXPECT_EQ(c.state, 1u) << major << ": a cluster shut down after initdb";
  }
}

TEST(ControlFile, EveryByteUnderTheCrcIsChecked) {
  for (int major : {15, 18}) {
    const Bytes good = control_of(major);
    const std::size_t crc_at = major == 18 ? 292 : 288;
    for (std::size_t i = 0; i < crc_at + 4; ++i) {
      Bytes bad = good;
      bad[i] ^= 0x01;
      const std::string what = error_of(bad);
      // Flipping the format field may turn it into an unknown format: refused either way.
      EXPECT_FALSE(what.empty()) << "byte " << i << " of " << major;
    }
    Bytes past = good;
    past[crc_at + 8] ^= 0xff;
    EXPECT_EQ(error_of(past), "") << "bytes past the CRC are not covered";
  }
}

TEST(ControlFile, DamageIsNamed) {
  Bytes b = control_of(17);
  b[0] ^= 0xff;
  EXPECT_EQ(error_of(b), "damaged pg_control: /srv/pg/global/pg_control (CRC mismatch)");
  Bytes unknown = control_of(17);
  unknown[8] = 0x0c;  // 1292 instead of 1700
  unknown[9] = 0x05;
  EXPECT_EQ(error_of(unknown),
            "unreadable pg_control: /srv/pg/global/pg_control (format 1292 is not one of PostgreSQL 14 to 18: 1300, "
            "1700 or 1800)");
  EXPECT_EQ(error_of(ByteView(control_of(15)).subspan(0, 12)),
            "unreadable pg_control: /srv/pg/global/pg_control (12 bytes, too short for its header)");
  EXPECT_EQ(error_of(ByteView(control_of(18)).subspan(0, 290)),
            "unreadable pg_control: /srv/pg/global/pg_control (290 bytes, too short for format 1800)");
}

TEST(ControlFile, MissingFileIsNoControlFile) {
  EXPECT_FALSE(read_control_file("/nonexistent/data"));
}

}  // namespace
}  // namespace pgdr::pg
