#include "repo/wal_stream_journal.h"

#include <algorithm>
#include <cstdio>

#include "core/error.h"
#include "core/little_endian.h"
#include "repo/wal_stream_objects.h"

namespace pgdr::repo {

namespace {

constexpr std::string_view kMagic = "PGDRJRNL";
constexpr std::uint8_t kVersion = 1;
constexpr std::size_t kHeaderBytes = 9;
constexpr std::size_t kRecordHeaderBytes = 8;
constexpr std::size_t kRecordOverhead = kRecordHeaderBytes + io::kAeadOverheadBytes;
// Room beyond the WAL itself for record overhead: 1 MiB holds about 29,000 records, one per flush
// of about 600 bytes over a 16 MiB segment.
constexpr std::uint64_t kOverheadRoom = 1u << 20;
constexpr std::string_view kAadJournal = "pgdr-v1 journal ";

Bytes journal_aad(const std::string& segment_name, std::uint32_t start) {
  Bytes aad = to_bytes(std::string(kAadJournal) + segment_name);
  put_u32le(aad, start);
  return aad;
}

bool zeros_from(ByteView data, std::size_t from) {
  return from >= data.size() || std::all_of(data.begin() + static_cast<std::ptrdiff_t>(from), data.end(),
                                            [](std::uint8_t b) { return b == 0; });
}

}  // namespace

std::string journal_object(const std::string& segment_name, std::uint64_t start) {
  char hex[9];
  std::snprintf(hex, sizeof hex, "%08llX", static_cast<unsigned long long>(start));
  return std::string(kStreamDir) + "/" + segment_name.substr(0, 8) + "/" + segment_name + "." + hex +
         std::string(kJournalSuffix);
}

JournalWriter::JournalWriter(const Repository& repo, const std::string& segment_name, std::uint64_t start,
                             std::uint64_t segment_bytes)
    : segment_name_(segment_name),
      object_(journal_object(segment_name, start)),
      aead_(repo.key().data_key().view()),
      end_(start),
      write_at_(kHeaderBytes),
      capacity_(kHeaderBytes + (segment_bytes - std::min(start, segment_bytes)) + kOverheadRoom) {
  // Zeros written, not a hole or fallocate(): unwritten extents would make each append's
  // fdatasync record their conversion, which is the metadata flush this format exists to avoid.
  auto w = repo.store().create(object_);
  Bytes head = to_bytes(std::string(kMagic));
  head.push_back(kVersion);
  w->write(head);
  const Bytes zeros(1u << 20, 0);
  for (std::uint64_t left = capacity_ - kHeaderBytes; left > 0;) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(left, zeros.size()));
    w->write(ByteView(zeros.data(), n));
    left -= n;
  }
  w->commit();
  file_ = repo.store().open_update(object_);
}

JournalWriter::~JournalWriter() = default;

bool JournalWriter::fits(std::size_t wal_bytes) const {
  return write_at_ + kRecordOverhead + wal_bytes <= capacity_;
}

void JournalWriter::append(ByteView data) {
  if (data.empty()) return;
  if (!fits(data.size())) throw Error(ErrorKind::internal, "journal " + object_ + " is full");
  record_.clear();
  put_u32le(record_, static_cast<std::uint32_t>(data.size() + io::kAeadOverheadBytes));
  put_u32le(record_, static_cast<std::uint32_t>(end_));
  aead_.seal(data, journal_aad(segment_name_, static_cast<std::uint32_t>(end_)), record_);
  file_->write_at(write_at_, record_);
  file_->sync();
  write_at_ += record_.size();
  end_ += data.size();
}

Bytes read_journal(const Repository& repo, const std::string& object, const std::string& segment_name,
                   std::uint64_t start) {
  auto raw = repo.store().read(object);
  auto corrupt = [&](std::size_t at, const std::string& why) {
    return Error(ErrorKind::corrupt, "corrupt streamed WAL journal " + object + " in " + repo.describe() + " (" +
                                         why + " at offset " + std::to_string(at) + ")");
  };
  if (!raw) return {};  // removed meanwhile: its segment was stored whole
  const ByteView data(*raw);
  if (data.size() < kHeaderBytes || !std::equal(kMagic.begin(), kMagic.end(), data.begin()))
    throw corrupt(0, "not a journal");
  if (data[kMagic.size()] != kVersion)
    throw corrupt(kMagic.size(), "format version " + std::to_string(data[kMagic.size()]) + ", this pgdr reads 1");
  io::Aead aead(repo.key().data_key().view());
  Bytes out;
  std::uint64_t next = start;
  std::size_t at = kHeaderBytes;
  while (at + kRecordHeaderBytes <= data.size()) {
    const std::uint32_t sealed_len = get_u32le(data.data() + at);
    if (sealed_len == 0) {
      if (!zeros_from(data, at)) throw corrupt(at, "bytes after the last record");
      break;
    }
    const std::uint32_t rec_start = get_u32le(data.data() + at + 4);
    const std::size_t body = at + kRecordHeaderBytes;
    if (sealed_len <= io::kAeadOverheadBytes || sealed_len > data.size() - body) {
      // A length no append writes: the end only if nothing follows the header.
      if (zeros_from(data, body)) break;
      throw corrupt(at, "record length " + std::to_string(sealed_len));
    }
    const std::size_t before = out.size();
    bool authentic = true;
    try {
      aead.open(data.subspan(body, sealed_len), journal_aad(segment_name, rec_start), out);
    } catch (const Error&) {
      authentic = false;
      out.resize(before);
    }
    if (!authentic) {
      // An append cut short leaves zeros behind it; damage leaves records.
      if (zeros_from(data, body + sealed_len)) break;
      throw corrupt(at, "record fails authentication");
    }
    if (rec_start != next)
      throw corrupt(at, "record of WAL offset " + std::to_string(rec_start) + " where " + std::to_string(next) +
                            " was expected");
    next += out.size() - before;
    at = body + sealed_len;
  }
  return out;
}

}  // namespace pgdr::repo
