#include "daemon/tls_context.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "core/error.h"
#include "daemon/secret_file.h"

namespace pgdr::daemon {

namespace {

// OpenSSL's reason for the last failure, its queue emptied (a stale entry would mislead the next).
std::string openssl_reason() {
  const unsigned long code = ERR_peek_last_error();
  const char* reason = code ? ERR_reason_error_string(code) : nullptr;
  std::string why = reason ? reason : "unknown reason";
  ERR_clear_error();
  return why;
}

}  // namespace

TlsContext::TlsContext(const std::string& cert_file, const std::string& key_file) {
  ctx_ = SSL_CTX_new(TLS_server_method());
  if (ctx_ == nullptr) throw Error(ErrorKind::crypto, "unable to make a TLS context (" + openssl_reason() + ")");
  try {
    // TLS 1.2 is the oldest version without known protocol breaks (RFC 8996 retired 1.0 and 1.1).
    SSL_CTX_set_min_proto_version(ctx_, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx_, SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_use_certificate_chain_file(ctx_, cert_file.c_str()) != 1)
      throw Error(ErrorKind::config,
                  "unable to load [daemon] tls_cert_file '" + cert_file + "' (" + openssl_reason() + ")",
                  "give the certificate, then its intermediates, in PEM");
    // Read through read_secret_file so that the key's mode is checked on the file that is parsed.
    std::string pem = read_secret_file(key_file, "[daemon] tls_key_file");
    BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
    // No passphrase callback: OpenSSL's default one would ask on the terminal, and hang a service.
    pem_password_cb* no_passphrase = [](char*, int, int, void*) { return 0; };
    EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio, nullptr, no_passphrase, nullptr) : nullptr;
    BIO_free(bio);
    OPENSSL_cleanse(pem.data(), pem.size());
    if (key == nullptr)
      throw Error(ErrorKind::config,
                  "unable to load [daemon] tls_key_file '" + key_file + "' (" + openssl_reason() + ")",
                  "give an unencrypted private key in PEM");
    const int used = SSL_CTX_use_PrivateKey(ctx_, key);
    EVP_PKEY_free(key);
    if (used != 1 || SSL_CTX_check_private_key(ctx_) != 1)
      throw Error(ErrorKind::config,
                  "[daemon] tls_key_file '" + key_file + "' does not match tls_cert_file '" + cert_file + "' (" +
                      openssl_reason() + ")");
  } catch (...) {
    SSL_CTX_free(ctx_);
    throw;
  }
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

}  // namespace pgdr::daemon
