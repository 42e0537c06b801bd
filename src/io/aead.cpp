#include "io/aead.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <string>

#include "core/error.h"
#include "io/openssl_error.h"

namespace pgdr::io {

namespace {

// EVP takes int lengths; larger inputs go through in slices (GCM accepts any split of aad or data).
constexpr std::size_t kMaxSliceBytes = std::size_t{1} << 30;

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const noexcept { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

// Feeds aad (out == nullptr) or data through the cipher; returns false if OpenSSL refused.
bool cipher_update(EVP_CIPHER_CTX* c, std::uint8_t* out, ByteView in) {
  std::size_t done = 0;
  while (done < in.size()) {
    int slice = static_cast<int>(std::min(in.size() - done, kMaxSliceBytes));
    int written = 0;
    std::uint8_t* to = out == nullptr ? nullptr : out + done;
    if (EVP_CipherUpdate(c, to, &written, in.data() + done, slice) != 1) return false;
    done += static_cast<std::size_t>(slice);
  }
  return true;
}

[[noreturn]] void authentication_failed() {
  throw Error(ErrorKind::corrupt, "authentication failed");
}

}  // namespace

struct Aead::Impl {
  SecretBytes key;
  CipherCtx ctx;

  explicit Impl(ByteView k) : key(k), ctx(EVP_CIPHER_CTX_new()) {
    if (!ctx) throw_openssl(ErrorKind::crypto, "unable to allocate aes-256-gcm context");
    // The key schedule is set up once; seal and open only set a nonce and a direction. GCM runs
    // AES forwards in both directions, so switching direction needs no new schedule.
    if (EVP_CipherInit_ex2(ctx.get(), EVP_aes_256_gcm(), key.data(), nullptr, 1, nullptr) != 1)
      throw_openssl(ErrorKind::crypto, "unable to set aes-256-gcm key");
  }

  void start(const std::uint8_t* nonce, int encrypt) {
    if (EVP_CipherInit_ex2(ctx.get(), nullptr, nullptr, nonce, encrypt, nullptr) != 1)
      throw_openssl(ErrorKind::crypto, "unable to start aes-256-gcm");
  }
};

Aead::Aead(ByteView key) {
  if (key.size() != kAeadKeyBytes)
    throw Error(ErrorKind::internal, "aes-256-gcm key is " + std::to_string(key.size()) + " bytes, expected 32");
  impl_ = std::make_unique<Impl>(key);
}

Aead::~Aead() = default;
Aead::Aead(Aead&&) noexcept = default;
Aead& Aead::operator=(Aead&&) noexcept = default;

Aead Aead::clone() const { return Aead(impl_->key.view()); }

void Aead::seal(ByteView plaintext, ByteView aad, Bytes& out) {
  const std::size_t old_size = out.size();
  out.resize(old_size + kAeadOverheadBytes + plaintext.size());
  std::uint8_t* nonce = out.data() + old_size;
  std::uint8_t* ciphertext = nonce + kAeadNonceBytes;
  std::uint8_t* tag = ciphertext + plaintext.size();
  try {
    // A random 96-bit nonce per message (NIST SP 800-38D 8.2.2): safe for up to 2^32 messages per
    // key, far beyond what one repository key seals.
    if (RAND_bytes(nonce, static_cast<int>(kAeadNonceBytes)) != 1)
      throw_openssl(ErrorKind::crypto, "unable to draw an aes-256-gcm nonce");
    impl_->start(nonce, 1);
    EVP_CIPHER_CTX* c = impl_->ctx.get();
    std::uint8_t none[kAeadTagBytes];  // GCM's final step writes no data; EVP still wants a buffer
    int written = 0;
    if (!cipher_update(c, nullptr, aad) || !cipher_update(c, ciphertext, plaintext) ||
        EVP_CipherFinal_ex(c, none, &written) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kAeadTagBytes), tag) != 1)
      throw_openssl(ErrorKind::crypto, "unable to encrypt with aes-256-gcm");
  } catch (...) {
    out.resize(old_size);
    throw;
  }
}

void Aead::open(ByteView sealed, ByteView aad, Bytes& out) {
  if (sealed.size() < kAeadOverheadBytes) authentication_failed();
  ByteView nonce = sealed.first(kAeadNonceBytes);
  ByteView ciphertext = sealed.subspan(kAeadNonceBytes, sealed.size() - kAeadOverheadBytes);
  std::uint8_t tag[kAeadTagBytes];
  std::copy(sealed.end() - kAeadTagBytes, sealed.end(), tag);

  const std::size_t old_size = out.size();
  out.resize(old_size + ciphertext.size());
  impl_->start(nonce.data(), 0);
  EVP_CIPHER_CTX* c = impl_->ctx.get();
  std::uint8_t none[kAeadTagBytes];
  int written = 0;
  bool ok = cipher_update(c, nullptr, aad) && cipher_update(c, out.data() + old_size, ciphertext) &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kAeadTagBytes), tag) == 1 &&
            EVP_CipherFinal_ex(c, none, &written) == 1;
  if (!ok) {
    // Unauthenticated plaintext must not reach the caller, nor linger in the buffer's spare capacity.
    OPENSSL_cleanse(out.data() + old_size, ciphertext.size());
    out.resize(old_size);
    ERR_clear_error();
    authentication_failed();
  }
}

}  // namespace pgdr::io
