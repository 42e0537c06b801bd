// The retail data set's SQL files (share/retail: schema.sql, workload/*.sql), carried in the binary
// so that pgdr can load the data set and run its workload on a machine without the source tree.
// The definition is generated at build time (cmake/embed_text_files.cmake), the texts byte for byte.
#pragma once

#include <vector>

#include "core/embedded_file.h"

namespace pgdr::demo {

const std::vector<EmbeddedFile>& retail_files();

}  // namespace pgdr::demo
