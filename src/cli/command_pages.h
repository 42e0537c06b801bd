// The command pages docs/commands/NAME.md, carried in the binary so that the manual page (pgdr help
// --man) can open each command's section with its page's first paragraph. The definition is
// generated at build time (cmake/embed_text_files.cmake); names are "backup.md" and so on.
#pragma once

#include <vector>

#include "core/embedded_file.h"

namespace pgdr::cli {

const std::vector<EmbeddedFile>& command_pages();

}  // namespace pgdr::cli
