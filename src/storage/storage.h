// Storage: the one interface through which repository code reaches bytes at rest, whatever holds them
// (a local directory, an object store). Drivers implement it; wrappers (fault injection, retries)
// forward to an inner Storage. Paths are relative, '/'-separated object names checked by
// check_object_path(); a driver never lets one escape its root.
//
// Thread safety: every method may be called concurrently from several threads on one Storage.
// A Writer belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"

namespace pgdr::storage {

struct ObjectInfo {
  std::string path;  // relative to the storage root
  std::uint64_t size_bytes = 0;
};

// An object being written. Nothing is visible under its name until commit() returns; commit() makes
// it durable (fsync'd, or acknowledged by the object store) and atomically visible, replacing an
// existing object of that name. A Writer destroyed without commit() removes what it wrote.
class Writer {
 public:
  virtual ~Writer() = default;
  virtual void write(ByteView data) = 0;
  virtual void commit() = 0;
  // Bytes written so far.
  virtual std::uint64_t size_bytes() const = 0;
};

// A committed object rewritten in place, for the one log that must be durable after a single
// flush per append (wal-stream's journal, repo/wal_stream_journal.h): writes land inside the
// object's size as committed, so sync() flushes data and no metadata. Not atomic: a crash can
// leave a write half done, which the log's own format must detect. Belongs to one thread.
class Updater {
 public:
  virtual ~Updater() = default;
  // Writes data at offset; Error(internal) when it would reach past the object's end.
  virtual void write_at(std::uint64_t offset, ByteView data) = 0;
  // Makes every write so far durable; Error(io) when the object is no longer at its name (removed,
  // or its directory moved away), where readers would not find what was written.
  virtual void sync() = 0;
};

struct Capabilities {
  bool atomic_exclusive_create = false;  // create_exclusive() is atomic against other hosts
  bool local = false;                    // objects are files on this host
  bool update_in_place = false;          // open_update() is supported
};

class Storage {
 public:
  virtual ~Storage() = default;

  // Human-readable name for messages, e.g. "local directory /srv/pgdr"; never holds a secret.
  virtual std::string describe() const = 0;
  virtual Capabilities capabilities() const = 0;

  // The whole object, or nullopt when it does not exist.
  virtual std::optional<Bytes> read(std::string_view path) const = 0;

  // length bytes from offset, or nullopt when the object does not exist. Throws Error(corrupt)
  // naming the object when it ends before offset + length.
  virtual std::optional<Bytes> read_range(std::string_view path, std::uint64_t offset,
                                          std::uint64_t length) const = 0;

  // Starts writing an object; see Writer for the commit contract.
  virtual std::unique_ptr<Writer> create(std::string_view path) = 0;

  // Writes data under path durably only if nothing has that name yet: true if written, false when
  // the name was taken. Used for locks and for objects that must never be replaced.
  virtual bool create_exclusive(std::string_view path, ByteView data) = 0;

  // Size of the object, or nullopt when it does not exist.
  virtual std::optional<ObjectInfo> stat(std::string_view path) const = 0;

  // Every object whose name starts with prefix + "/" (every object for an empty prefix), at any
  // depth, in no particular order. Temporary objects of uncommitted writers are not listed.
  virtual std::vector<ObjectInfo> list(std::string_view prefix) const = 0;

  // Removes the object; removing a missing object is not an error.
  virtual void remove(std::string_view path) = 0;

  // Removes every object named, as remove() does each (a missing one is not an error), in as few
  // requests as the driver can: object stores bill and slow down per request. Not atomic as a whole
  // and in no particular order: on failure some of the objects may be gone and others not, and it
  // throws the Error of the first object (in the order given) that failed, naming it. Checks every
  // path before removing any. The default removes one object at a time, in order, and stops with
  // Error(interrupted) between two removals once an interrupt was requested.
  virtual void remove_many(const std::vector<std::string>& paths);

  // Opens a committed object for in-place writes (Capabilities::update_in_place); Error(not_found)
  // when it does not exist. The default throws Error(internal): object stores cannot do it.
  virtual std::unique_ptr<Updater> open_update(std::string_view path);

  // Convenience: create + write + commit.
  void write_all(std::string_view path, ByteView data);
};

// Throws Error(corrupt) unless path is relative, non-empty, and free of "", "." and ".." segments.
void check_object_path(std::string_view path);

}  // namespace pgdr::storage
