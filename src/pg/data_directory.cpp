#include "pg/data_directory.h"

#include <limits.h>
#include <stdlib.h>

#include "core/file.h"

namespace pgdr::pg {

std::map<std::string, std::string> tablespace_links(const std::string& data_dir) {
  std::map<std::string, std::string> out;
  const std::string dir = data_dir + "/pg_tblspc";
  for (const auto& name : list_directory(dir).value_or(std::vector<std::string>{})) {
    char buf[PATH_MAX];
    if (::realpath((dir + "/" + name).c_str(), buf)) out[name] = buf;
  }
  return out;
}

}  // namespace pgdr::pg
