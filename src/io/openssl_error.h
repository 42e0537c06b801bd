// Internal to io: turns a failed OpenSSL call into a pgdr::Error carrying OpenSSL's reason.
#pragma once

#include <string_view>

#include "core/error.h"

namespace pgdr::io {

// Throws Error(kind) "<what>: <openssl reason>" and empties the thread's OpenSSL error queue, so a
// stale entry is never reported against a later, unrelated failure.
[[noreturn]] void throw_openssl(ErrorKind kind, std::string_view what);

}  // namespace pgdr::io
