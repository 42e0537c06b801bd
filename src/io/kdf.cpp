#include "io/kdf.h"

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <memory>
#include <string>
#include <vector>

#include "io/openssl_error.h"

namespace pgdr::io {

namespace {

struct KdfDeleter {
  void operator()(EVP_KDF* k) const noexcept { EVP_KDF_free(k); }
};
struct KdfCtxDeleter {
  void operator()(EVP_KDF_CTX* c) const noexcept { EVP_KDF_CTX_free(c); }
};

// OSSL_PARAM wants a non-const pointer even for inputs, and a non-null one even when empty.
OSSL_PARAM octets(const char* name, const void* data, std::size_t n) {
  static std::uint8_t empty = 0;
  void* p = n == 0 ? &empty : const_cast<void*>(data);
  return OSSL_PARAM_construct_octet_string(name, p, n);
}

SecretBytes derive(const char* algorithm, const char* what, std::vector<OSSL_PARAM> params, std::size_t out_bytes) {
  params.push_back(OSSL_PARAM_construct_end());
  std::unique_ptr<EVP_KDF, KdfDeleter> kdf(EVP_KDF_fetch(nullptr, algorithm, nullptr));
  if (!kdf) throw_openssl(ErrorKind::crypto, std::string("unable to load ") + what);
  std::unique_ptr<EVP_KDF_CTX, KdfCtxDeleter> ctx(EVP_KDF_CTX_new(kdf.get()));
  if (!ctx) throw_openssl(ErrorKind::crypto, std::string("unable to allocate ") + what + " context");
  SecretBytes out(out_bytes);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params.data()) != 1)
    throw_openssl(ErrorKind::crypto, std::string("unable to derive a key with ") + what);
  return out;
}

}  // namespace

SecretBytes scrypt(std::string_view passphrase, ByteView salt, const ScryptParams& params, std::size_t out_bytes) {
  std::uint64_t n = params.n;
  std::uint32_t r = params.r;
  std::uint32_t p = params.p;
  return derive("SCRYPT", "scrypt",
                {octets(OSSL_KDF_PARAM_PASSWORD, passphrase.data(), passphrase.size()),
                 octets(OSSL_KDF_PARAM_SALT, salt.data(), salt.size()),
                 OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
                 OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
                 OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p)},
                out_bytes);
}

SecretBytes hkdf_sha256(ByteView input_key, ByteView salt, std::string_view info, std::size_t out_bytes) {
  char digest[] = "SHA256";
  std::vector<OSSL_PARAM> params{
      OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
      octets(OSSL_KDF_PARAM_KEY, input_key.data(), input_key.size()),
  };
  // RFC 5869 2.2: no salt means a zero salt of hash length, which OpenSSL applies when none is given.
  if (!salt.empty()) params.push_back(octets(OSSL_KDF_PARAM_SALT, salt.data(), salt.size()));
  if (!info.empty()) params.push_back(octets(OSSL_KDF_PARAM_INFO, info.data(), info.size()));
  return derive("HKDF", "hkdf-sha-256", std::move(params), out_bytes);
}

Bytes random_bytes(std::size_t n) {
  Bytes out(n);
  for (std::size_t done = 0; done < n;) {
    int slice = static_cast<int>(std::min<std::size_t>(n - done, INT_MAX));
    if (RAND_bytes(out.data() + done, slice) != 1)
      throw_openssl(ErrorKind::crypto, "unable to draw random bytes");
    done += static_cast<std::size_t>(slice);
  }
  return out;
}

}  // namespace pgdr::io
