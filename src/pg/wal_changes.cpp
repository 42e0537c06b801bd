// note_wal_record (pg/change_map.h): what one WAL record changes in relation files, read from the
// record's block references and, for the records that change files without a reference per
// block, from their main data. PostgreSQL 17's WAL summarizer (src/backend/postmaster/
// walsummarizer.c) does the same job; this one errs further on the side of more: it keeps the free
// space map, sets the visibility map's and free space map's limits to 0 on truncation, and adds
// the visibility-map pages that heap records change implicitly.
#include "pg/change_map.h"

#include "core/error.h"
#include "core/little_endian.h"

namespace pgdr::pg {

namespace {

// Resource manager ids (src/include/access/rmgrlist.h, the same in 14-18).
constexpr std::uint8_t kRmgrSmgr = 2;
constexpr std::uint8_t kRmgrDbase = 4;
constexpr std::uint8_t kRmgrHeap2 = 9;
constexpr std::uint8_t kRmgrHeap = 10;

// src/include/catalog/storage_xlog.h, the same in 14-18:
//   xl_smgr_create   = RelFileNode/RelFileLocator (12) | ForkNumber forkNum (int32)
//   xl_smgr_truncate = BlockNumber blkno | RelFileNode/RelFileLocator (12) | int flags
constexpr std::uint8_t kSmgrCreate = 0x10;
constexpr std::uint8_t kSmgrTruncate = 0x20;
constexpr std::uint32_t kSmgrTruncateHeap = 0x0001;
constexpr std::uint32_t kSmgrTruncateVm = 0x0002;
constexpr std::uint32_t kSmgrTruncateFsm = 0x0004;

// src/include/commands/dbcommands_xlog.h. 14: XLOG_DBASE_CREATE 0x00, XLOG_DBASE_DROP 0x10; 15
// split the create by strategy: XLOG_DBASE_CREATE_FILE_COPY 0x00, XLOG_DBASE_CREATE_WAL_LOG 0x10,
// XLOG_DBASE_DROP 0x20.
//   xl_dbase_create_rec (14), xl_dbase_create_file_copy_rec (15+) =
//                          db_id | tablespace_id | src_db_id | src_tablespace_id
//   xl_dbase_create_wal_log_rec (15+) = db_id | tablespace_id
//   xl_dbase_drop_rec   = db_id | int ntablespaces | tablespace_ids[ntablespaces]
constexpr std::uint8_t kDbaseCreate = 0x00;
constexpr std::uint8_t kDbaseDrop14 = 0x10;
constexpr std::uint8_t kDbaseCreateWalLog = 0x10;
constexpr std::uint8_t kDbaseDrop = 0x20;

// src/include/access/xact.h. Commit and abort records, prepared or not, share one layout, which
// ParseCommitRecord and ParseAbortRecord (src/backend/access/rmgrdesc/xactdesc.c) read in this
// order in 14-18: xact_time (8); xinfo (4) when XLOG_XACT_HAS_INFO; then, as xinfo says, dbinfo
// (dbId, tsId), subxacts (int nsubxacts, xids), relfilenodes (int nrels, 12 bytes each; named
// relfilelocators from 16), and after them what is of no concern here (dropped stats items from
// 15, invalidations, two-phase xid and gid, origin).
constexpr std::uint8_t kXactOpmask = 0x70;
constexpr std::uint8_t kXactCommit = 0x00;
constexpr std::uint8_t kXactAbort = 0x20;
constexpr std::uint8_t kXactCommitPrepared = 0x30;
constexpr std::uint8_t kXactAbortPrepared = 0x40;
constexpr std::uint8_t kXactHasInfo = 0x80;
constexpr std::uint32_t kXinfoHasDbinfo = 1u << 0;
constexpr std::uint32_t kXinfoHasSubxacts = 1u << 1;
constexpr std::uint32_t kXinfoHasRelfilenodes = 1u << 2;

// Heap blocks one visibility-map page covers (HEAPBLOCKS_PER_PAGE of src/backend/access/heap/
// visibilitymap.c: two bits per heap block on a page less its 24-byte header; no metapage).
constexpr std::uint32_t kHeapBlocksPerVmPage = (8192 - 24) * 4;

constexpr ForkNumber kAllForks[] = {ForkNumber::main, ForkNumber::fsm, ForkNumber::visibility_map, ForkNumber::init};

// Reads main data in order; a field past its end is a corrupt record.
class MainData {
 public:
  MainData(const WalRecord& record, const char* kind) : record_(record), kind_(kind) {}

  [[noreturn]] void fail(const std::string& why) const {
    throw Error(ErrorKind::corrupt, std::string("invalid ") + kind_ + " record at " + to_string(record_.lsn) + " (" +
                                        why + ")");
  }
  const std::uint8_t* take(std::size_t n, const char* field) {
    const ByteView d = record_.main_data;
    if (d.size() - pos_ < n)
      fail("main data of " + std::to_string(d.size()) + " bytes ends inside its " + field);
    const std::uint8_t* p = d.data() + pos_;
    pos_ += n;
    return p;
  }
  std::uint32_t u32(const char* field) { return get_u32le(take(4, field)); }
  // A C int count: negative is damage.
  std::uint32_t count(const char* field) {
    const std::uint32_t n = u32(field);
    if (n > 0x7FFFFFFFu) fail(std::string("negative ") + field + " count " + std::to_string(static_cast<std::int32_t>(n)));
    return n;
  }
  RelFileLocator locator(const char* field) {
    const std::uint8_t* p = take(12, field);
    return {get_u32le(p), get_u32le(p + 4), get_u32le(p + 8)};
  }
  void skip(std::uint64_t n, const char* field) {
    if (record_.main_data.size() - pos_ < n)
      fail("main data of " + std::to_string(record_.main_data.size()) + " bytes ends inside its " + field);
    pos_ += static_cast<std::size_t>(n);
  }

 private:
  const WalRecord& record_;
  const char* kind_;
  std::size_t pos_ = 0;
};

void note_smgr(const WalRecord& record, ChangeMap& map) {
  const std::uint8_t info = record.info & 0xF0;
  if (info == kSmgrCreate) {
    MainData in(record, "storage create");
    const RelFileLocator rel = in.locator("relation");
    const std::uint32_t fork = in.u32("fork number");
    if (fork > static_cast<std::uint32_t>(ForkNumber::init)) in.fail("invalid fork number " + std::to_string(fork));
    map.add_limit({rel, static_cast<ForkNumber>(fork)}, 0);
  } else if (info == kSmgrTruncate) {
    MainData in(record, "storage truncate");
    const std::uint32_t blkno = in.u32("block number");
    const RelFileLocator rel = in.locator("relation");
    const std::uint32_t flags = in.u32("flags");
    if (flags & kSmgrTruncateHeap) map.add_limit({rel, ForkNumber::main}, blkno);
    // The maps are cut at their own page for blkno, and redo rewrites the bits past it on the
    // page it keeps without a block reference (visibilitymap_prepare_truncate,
    // FreeSpaceMapPrepareTruncateRel): the whole fork is read again.
    if (flags & kSmgrTruncateVm) map.add_limit({rel, ForkNumber::visibility_map}, 0);
    if (flags & kSmgrTruncateFsm) map.add_limit({rel, ForkNumber::fsm}, 0);
  }
}

void note_dbase(const WalRecord& record, int major, ChangeMap& map) {
  const std::uint8_t info = record.info & 0xF0;
  const bool drop = major == 14 ? info == kDbaseDrop14 : info == kDbaseDrop;
  const bool create = info == kDbaseCreate || (major > 14 && info == kDbaseCreateWalLog);
  if (create) {
    MainData in(record, "database create");
    const std::uint32_t db = in.u32("database oid");
    const std::uint32_t spc = in.u32("tablespace oid");
    map.add_database({spc, db});
  } else if (drop) {
    MainData in(record, "database drop");
    const std::uint32_t db = in.u32("database oid");
    const std::uint32_t n = in.count("tablespace");
    for (std::uint32_t i = 0; i < n; ++i) map.add_database({in.u32("tablespace oids"), db});
  }
}

void note_xact(const WalRecord& record, ChangeMap& map) {
  const std::uint8_t op = record.info & kXactOpmask;
  if (op != kXactCommit && op != kXactAbort && op != kXactCommitPrepared && op != kXactAbortPrepared) return;
  MainData in(record, "transaction");
  in.skip(8, "xact_time");
  const std::uint32_t xinfo = (record.info & kXactHasInfo) ? in.u32("xinfo") : 0;
  if (xinfo & kXinfoHasDbinfo) in.skip(8, "database info");
  if (xinfo & kXinfoHasSubxacts) {
    const std::uint32_t n = in.count("subtransaction");
    in.skip(std::uint64_t{n} * 4, "subtransaction xids");
  }
  if (xinfo & kXinfoHasRelfilenodes) {
    const std::uint32_t n = in.count("relation");
    for (std::uint32_t i = 0; i < n; ++i) {
      const RelFileLocator rel = in.locator("dropped relations");
      for (ForkNumber f : kAllForks) map.add_limit({rel, f}, 0);
    }
  }
}

}  // namespace

void note_wal_record(const WalRecord& record, int major, ChangeMap& map) {
  const bool heap = record.rmid == kRmgrHeap || record.rmid == kRmgrHeap2;
  for (const BlockRef& b : record.blocks) {
    map.add_block({b.rel, b.fork}, b.block);
    // Inserts, updates, deletes and locks clear the page's visibility-map bits in the same
    // critical section, and their redo does so again, but the map page is no block reference of
    // the record (heap_xlog_insert and the others pin it themselves).
    if (heap && b.fork == ForkNumber::main)
      map.add_block({b.rel, ForkNumber::visibility_map}, b.block / kHeapBlocksPerVmPage);
  }
  switch (record.rmid) {
    case kRmgrSmgr: note_smgr(record, map); break;
    case kRmgrDbase: note_dbase(record, major, map); break;
    case kRmgrTransaction: note_xact(record, map); break;
    default: break;
  }
}

}  // namespace pgdr::pg
