// What a PostgreSQL data directory says about itself on disk, without a server: its tablespaces.
// Thread-safe; reads the file system only.
#pragma once

#include <map>
#include <string>

namespace pgdr::pg {

// Tablespace oid -> location (the resolved target of pg_tblspc/<oid>), for every link that
// resolves; an unreadable pg_tblspc gives none. In-place tablespaces (directories inside
// pg_tblspc, allow_in_place_tablespaces) resolve inside the data directory.
std::map<std::string, std::string> tablespace_links(const std::string& data_dir);

}  // namespace pgdr::pg
