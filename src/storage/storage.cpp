#include "storage/storage.h"

#include <string>

#include "core/error.h"
#include "core/interrupt.h"

namespace pgdr::storage {

void Storage::write_all(std::string_view path, ByteView data) {
  auto w = create(path);
  w->write(data);
  w->commit();
}

void Storage::remove_many(const std::vector<std::string>& paths) {
  for (const auto& path : paths) check_object_path(path);
  for (const auto& path : paths) {
    throw_if_interrupted();
    remove(path);
  }
}

std::unique_ptr<Updater> Storage::open_update(std::string_view path) {
  throw Error(ErrorKind::internal, describe() + " cannot update " + std::string(path) + " in place");
}

void check_object_path(std::string_view path) {
  auto bad = [&](std::string_view why) {
    throw Error(ErrorKind::corrupt, "refusing object name '" + std::string(path) + "' (" + std::string(why) + ")");
  };
  if (path.empty()) bad("empty");
  if (path.front() == '/') bad("absolute");
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view seg = path.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") bad("empty, '.' or '..' segment");
    if (seg.find('\0') != std::string_view::npos) bad("NUL byte");
    start = end + 1;
  }
}

}  // namespace pgdr::storage
