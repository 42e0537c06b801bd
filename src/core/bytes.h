// Byte buffers: Bytes owns, ByteView borrows, SecretBytes owns key material and wipes it on release.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pgdr {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(ByteView b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// Key material: move-only, cleansed on destruction so keys do not linger in freed memory.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::size_t n) : data_(n) {}
  explicit SecretBytes(ByteView v) : data_(v.begin(), v.end()) {}
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;
  SecretBytes(SecretBytes&& o) noexcept : data_(std::move(o.data_)) { o.data_.clear(); }
  SecretBytes& operator=(SecretBytes&& o) noexcept;
  ~SecretBytes();

  std::uint8_t* data() { return data_.data(); }
  const std::uint8_t* data() const { return data_.data(); }
  std::size_t size() const { return data_.size(); }
  ByteView view() const { return {data_.data(), data_.size()}; }
  SecretBytes copy() const { return SecretBytes(view()); }

 private:
  void wipe() noexcept;
  std::vector<std::uint8_t> data_;
};

// Value of one hexadecimal digit (either case), or -1 for anything else.
int hex_digit_value(char c);

// Lower-case hexadecimal and standard base64 (with padding); decoders throw Error(corrupt) on bad input.
std::string to_hex(ByteView b);
Bytes from_hex(std::string_view hex);
std::string to_base64(ByteView b);
Bytes from_base64(std::string_view text);

}  // namespace pgdr
