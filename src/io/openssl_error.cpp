#include "io/openssl_error.h"

#include <openssl/err.h>

#include <string>

namespace pgdr::io {

void throw_openssl(ErrorKind kind, std::string_view what) {
  // The oldest entry is the root cause; later ones are callers that passed it up.
  unsigned long code = ERR_get_error();
  ERR_clear_error();
  std::string message(what);
  if (code != 0) {
    const char* reason = ERR_reason_error_string(code);
    message += ": ";
    message += reason != nullptr ? reason : "openssl error " + std::to_string(code);
  } else {
    message += ": unknown openssl error";
  }
  throw Error(kind, std::move(message));
}

}  // namespace pgdr::io
