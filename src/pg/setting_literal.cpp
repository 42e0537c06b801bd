#include "pg/setting_literal.h"

namespace pgdr::pg {

std::string setting_literal(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out += c;
    out += c;
  }
  return out + "'";
}

}  // namespace pgdr::pg
