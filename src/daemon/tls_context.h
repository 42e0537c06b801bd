// The daemon's TLS server context: its certificate chain and private key ([daemon] tls_cert_file,
// tls_key_file), loaded once at start. Owns the SSL_CTX; each connection makes its own SSL from it,
// from any thread (OpenSSL allows that once the context is set up). Move-only.
#pragma once

#include <string>

typedef struct ssl_ctx_st SSL_CTX;

namespace pgdr::daemon {

class TlsContext {
 public:
  // Throws Error(config) when a file cannot be read or parsed, the key file is open to group or
  // others (secret_file.h), or the key does not match the certificate.
  TlsContext(const std::string& cert_file, const std::string& key_file);
  ~TlsContext();
  TlsContext(TlsContext&& o) noexcept : ctx_(o.ctx_) { o.ctx_ = nullptr; }
  TlsContext& operator=(TlsContext&&) = delete;
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* get() const { return ctx_; }

 private:
  SSL_CTX* ctx_ = nullptr;
};

}  // namespace pgdr::daemon
