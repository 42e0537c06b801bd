// docs/CONFIGURATION.md, carried in the binary so that `pgdr help --man-config` can write the
// manual page pgdr.toml(5) from the same document. The definition is generated at build time
// (cmake/embed_text_files.cmake); the one name is "CONFIGURATION.md".
#pragma once

#include <vector>

#include "core/embedded_file.h"

namespace pgdr::cli {

const std::vector<EmbeddedFile>& configuration_page();

}  // namespace pgdr::cli
