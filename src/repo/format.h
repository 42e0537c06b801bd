// Names, magic values and version of repository format v1 (docs/REPOSITORY_FORMAT.md is the
// contract; change both together and bump kFormatVersion on any incompatible change).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pgdr::repo {

inline constexpr int kFormatVersion = 1;
// The version in a pack's tail. 3: frames bound to their place and naming no blocks, one trailer
// entry per frame, 16-byte block ids. Versions 1 (a trailer entry per block, ids in frames as
// well) and 2 (32-byte ids) came only from development builds and are refused.
inline constexpr std::uint32_t kPackVersion = 3;
inline constexpr std::string_view kRepoConfigObject = "pgdr.repo";
inline constexpr std::string_view kKeysDir = "keys";
inline constexpr std::string_view kPacksDir = "packs";
inline constexpr std::string_view kSnapshotsDir = "snapshots";
inline constexpr std::string_view kLocksDir = "locks";
// probes/<16 hex>: written and removed at once by pgdr check to prove the repository writable; no
// reader lists or reads it.
inline constexpr std::string_view kProbesDir = "probes";

inline constexpr std::uint32_t kDefaultBlockBytes = 8192;             // one PostgreSQL page
inline constexpr std::uint64_t kDefaultPackTargetBytes = 16u << 20;  // few objects, bounded memory

// "packs/3f/3fa2...": two hex digits of fan-out keep directories and listings small.
std::string pack_object(std::string_view pack_id);
std::string snapshot_manifest_object(std::string_view snapshot_id);
std::string snapshot_info_object(std::string_view snapshot_id);

// Additional authenticated data prefixes: each names the object kind so that no sealed bytes can
// be moved to where another kind is expected.
inline constexpr std::string_view kAadFrame = "pgdr-v1 frame ";
inline constexpr std::string_view kAadPackTrailer = "pgdr-v1 pack-trailer ";
inline constexpr std::string_view kAadKeySlot = "pgdr-v1 key-slot ";
inline constexpr std::string_view kAadSealed = "pgdr-v1 sealed ";

}  // namespace pgdr::repo
