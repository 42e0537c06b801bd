// Shared by the configuration tests: the one-line error parse_config gives for a text.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "config/config.h"
#include "core/error.h"

namespace pgdr::test {

// The message of the Error(config) that parsing text as "t.toml" throws; "<no error>" if none.
inline std::string config_error_of(const std::string& text) {
  try {
    parse_config(text, "t.toml");
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::config);
    return e.what();
  }
  return "<no error>";
}

}  // namespace pgdr::test
