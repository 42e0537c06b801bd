// A text file carried in the binary: its name and its bytes, as a static string. Files of this kind
// are generated at build time (cmake/embed_text_files.cmake) into a function returning a list of
// them; the texts live as long as the program and may be read from any thread.
#pragma once

#include <string_view>

namespace pgdr {

struct EmbeddedFile {
  std::string_view name;  // relative to the directory the build took it from, e.g. "workload/sale.sql"
  std::string_view text;
};

}  // namespace pgdr
