// The one error type of pgdr: a kind and a one-line message, thrown and caught at the command edge.
// The kinds are listed here and nowhere else; the command runner maps them to exit codes.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace pgdr {

enum class ErrorKind {
  usage,        // bad command line
  config,       // bad or missing configuration
  io,           // a local file or device failed
  not_found,    // something named does not exist
  corrupt,      // stored bytes fail a check (checksum, tag, format)
  crypto,       // a key cannot be unwrapped or a cipher failed
  postgres,     // the server refused or failed
  network,      // a remote peer could not be reached or answered badly
  locked,       // another process holds what we need
  interrupted,  // a signal asked us to stop
  internal,     // a bug: an invariant broke
};

std::string_view to_string(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message, std::string hint = {})
      : std::runtime_error(std::move(message)), kind_(kind), hint_(std::move(hint)) {}

  ErrorKind kind() const noexcept { return kind_; }
  // Advice printed on its own line after the error, starting "HINT:"; empty when there is none.
  const std::string& hint() const noexcept { return hint_; }

 private:
  ErrorKind kind_;
  std::string hint_;
};

// "<what>: <strerror(errnum)>", for messages built around a failed system call.
std::string errno_text(int errnum);

// Throws Error(io) "<what>: <path> (<strerror>)" for the current errno; kind not_found for ENOENT.
[[noreturn]] void throw_errno(std::string_view what, std::string_view path, int errnum);

// Exit code of an action command for an error of this kind (contract: 1 failure, 2 usage/config).
int action_exit_code(ErrorKind kind);

}  // namespace pgdr
