// A value written into postgresql.conf or postgresql.auto.conf as a string literal, the way ALTER
// SYSTEM writes one (escape_single_quotes_ascii in PostgreSQL's src/port/quotes.c): in single
// quotes, with every single quote and every backslash doubled. The configuration file reader treats
// a backslash as an escape, so a shell-quoted command (restore_command, archive_command: 'o'\''k')
// is read back as written only when its backslashes are doubled too.
#pragma once

#include <string>
#include <string_view>

namespace pgdr::pg {

std::string setting_literal(std::string_view value);

}  // namespace pgdr::pg
