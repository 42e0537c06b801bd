#include "io/sha256.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>

#include "io/openssl_error.h"

namespace pgdr::io {

namespace {

constexpr std::size_t kBlockBytes = 64;  // SHA-256 block size, the HMAC pad length (RFC 2104)

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

// Fetched once per process: EVP_sha256() would repeat the provider lookup on every init.
const EVP_MD* sha256_md() {
  static EVP_MD* md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) throw_openssl(ErrorKind::crypto, "unable to load sha-256");
    return m;
  }();
  return md;
}

MdCtx new_ctx() {
  MdCtx c(EVP_MD_CTX_new());
  if (!c) throw_openssl(ErrorKind::crypto, "unable to allocate sha-256 context");
  return c;
}

void md_init(EVP_MD_CTX* c) {
  if (EVP_DigestInit_ex2(c, sha256_md(), nullptr) != 1) throw_openssl(ErrorKind::crypto, "unable to start sha-256");
}

void md_update(EVP_MD_CTX* c, const void* data, std::size_t n) {
  if (n != 0 && EVP_DigestUpdate(c, data, n) != 1) throw_openssl(ErrorKind::crypto, "unable to hash with sha-256");
}

Digest md_final(EVP_MD_CTX* c) {
  Digest d;
  if (EVP_DigestFinal_ex(c, d.data(), nullptr) != 1) throw_openssl(ErrorKind::crypto, "unable to finish sha-256");
  return d;
}

void md_copy(EVP_MD_CTX* to, const EVP_MD_CTX* from) {
  if (EVP_MD_CTX_copy_ex(to, from) != 1) throw_openssl(ErrorKind::crypto, "unable to copy sha-256 state");
}

}  // namespace

struct Sha256::Impl {
  MdCtx ctx = new_ctx();
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) { md_init(impl_->ctx.get()); }
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(ByteView data) { md_update(impl_->ctx.get(), data.data(), data.size()); }

Digest Sha256::finish() {
  Digest d = md_final(impl_->ctx.get());
  md_init(impl_->ctx.get());
  return d;
}

Digest Sha256::of(ByteView data) {
  // One context per thread: of() runs per block and a fresh context costs an allocation.
  thread_local MdCtx ctx = new_ctx();
  md_init(ctx.get());
  md_update(ctx.get(), data.data(), data.size());
  return md_final(ctx.get());
}

// HMAC(K, m) = H((K0 ^ opad) || H((K0 ^ ipad) || m)) per RFC 2104. The two padded key blocks are
// hashed once here; of() then only copies those states. Measured on 8 KiB blocks this was slightly
// faster than re-initialising an EVP_MAC_CTX with a NULL key (1950 vs 1935 MB/s, SHA-NI), and both
// stay within 2% of plain SHA-256. The saved states are key-equivalent; EVP_MD_CTX_free cleanses them.
struct HmacSha256::Impl {
  MdCtx inner = new_ctx();
  MdCtx outer = new_ctx();
  MdCtx work = new_ctx();
};

HmacSha256::HmacSha256() : impl_(std::make_unique<Impl>()) {}

HmacPads::HmacPads(ByteView key) {
  std::uint8_t k0[kBlockBytes] = {};
  if (key.size() > kBlockBytes) {
    Digest hashed = Sha256::of(key);  // RFC 2104: longer keys are hashed first
    std::copy(hashed.begin(), hashed.end(), k0);
    OPENSSL_cleanse(hashed.data(), hashed.size());
  } else {
    std::copy(key.begin(), key.end(), k0);
  }
  for (std::size_t i = 0; i < kBlockBytes; ++i) {
    inner[i] = k0[i] ^ 0x36;
    outer[i] = k0[i] ^ 0x5c;
  }
  OPENSSL_cleanse(k0, sizeof k0);
}

HmacPads::~HmacPads() {
  OPENSSL_cleanse(inner.data(), inner.size());
  OPENSSL_cleanse(outer.data(), outer.size());
}

HmacSha256::HmacSha256(ByteView key) : HmacSha256() {
  const HmacPads pads(key);
  md_init(impl_->inner.get());
  md_update(impl_->inner.get(), pads.inner.data(), pads.inner.size());
  md_init(impl_->outer.get());
  md_update(impl_->outer.get(), pads.outer.data(), pads.outer.size());
}

HmacSha256::~HmacSha256() = default;
HmacSha256::HmacSha256(HmacSha256&&) noexcept = default;
HmacSha256& HmacSha256::operator=(HmacSha256&&) noexcept = default;

HmacSha256 HmacSha256::clone() const {
  HmacSha256 c;
  md_copy(c.impl_->inner.get(), impl_->inner.get());
  md_copy(c.impl_->outer.get(), impl_->outer.get());
  return c;
}

Digest HmacSha256::of(ByteView data) {
  EVP_MD_CTX* w = impl_->work.get();
  md_copy(w, impl_->inner.get());
  md_update(w, data.data(), data.size());
  Digest inner_digest = md_final(w);
  md_copy(w, impl_->outer.get());
  md_update(w, inner_digest.data(), inner_digest.size());
  return md_final(w);
}

}  // namespace pgdr::io
