// Credentials: what signs an S3 request. The access key id is an identifier that travels in clear in
// every Authorization header; the secret access key and the session token are credentials, held in
// SecretBytes so they are wiped on release. Nothing here may be formatted into a message or a log:
// describe() of a configuration names the bucket and endpoint, never these.
//
// Move-only (SecretBytes); one owner, typically the S3 configuration of one repository.
#pragma once

#include <string>

#include "core/bytes.h"

namespace pgdr::storage::s3 {

struct Credentials {
  std::string access_key_id;
  SecretBytes secret_access_key;
  // Temporary credentials (STS) come with a token sent as x-amz-security-token; empty when none.
  SecretBytes session_token;
};

}  // namespace pgdr::storage::s3
