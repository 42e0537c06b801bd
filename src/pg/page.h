// The parts of PostgreSQL's heap page layout that a backup needs: the page LSN, "new" (all-zero)
// pages, and the data checksum (FNV-1a based, computed over the page with pd_checksum zeroed and
// mixed with the block number), per src/include/storage/checksum_impl.h's documented algorithm.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/bytes.h"

namespace pgdr::pg {

inline constexpr std::size_t kPageBytes = 8192;
// Relation segment files hold 1 GiB: blocks of segment k start at block number k * kBlocksPerSegment.
inline constexpr std::uint32_t kBlocksPerSegment = 131072;

// pd_lsn of the page (its first 8 bytes: xlogid then xrecoff, host byte order).
std::uint64_t page_lsn(ByteView page);
// True when pd_upper is 0: a page PostgreSQL has extended but not initialised (all zeroes when sane).
bool page_is_new(ByteView page);
// True when every byte is zero.
bool page_is_zero(ByteView page);
// The checksum PostgreSQL stores in pd_checksum for this page at absolute block number blkno.
std::uint16_t page_checksum(ByteView page, std::uint32_t blkno);
// pd_checksum as stored.
std::uint16_t stored_page_checksum(ByteView page);

enum class PageCheck { ok, new_page, bad_checksum, bad_header };
// What a backup concludes about one page read from disk (does not consider concurrent writes).
PageCheck check_page(ByteView page, std::uint32_t blkno);

}  // namespace pgdr::pg
