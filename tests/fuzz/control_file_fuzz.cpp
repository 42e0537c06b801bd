// global/pg_control (pg/control_file.cpp), whose system identifier decides whether restore --delta
// may rewrite a directory: any bytes are either refused as corrupt or read as a known format.
#include "fuzz_support.h"
#include "pg/control_file.h"

using namespace pgdr;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::expect_errors({ErrorKind::corrupt}, [&] {
    auto c = pg::parse_control_file(ByteView(data, size), "fuzz/global/pg_control");
    fuzz::require(c.pg_control_version == 1300 || c.pg_control_version == 1700 || c.pg_control_version == 1800,
                  "only known pg_control formats are read");
  });
  return 0;
}
