#include "storage/s3/s3_config.h"

#include <algorithm>

#include "core/error.h"
#include "storage/s3/sigv4.h"

namespace pgdr::storage::s3 {

namespace {

constexpr std::uint16_t kHttpsPort = 443;
constexpr std::uint16_t kHttpPort = 80;

Error config_error(std::string message, std::string hint = {}) {
  return Error(ErrorKind::config, std::move(message), std::move(hint));
}

std::string lowered(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
  return out;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || is_digit(c); }
bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); }

bool is_ip_literal(std::string_view host) {
  return host.front() == '[' || std::all_of(host.begin(), host.end(), [](char c) { return is_digit(c) || c == '.'; });
}

// Host names of lower-case letters, digits, '.' and '-'; IPv6 in brackets.
bool valid_host(std::string_view host) {
  if (host.empty()) return false;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    std::string_view inner = host.substr(1, host.size() - 2);
    return std::all_of(inner.begin(), inner.end(), [](char c) { return is_hex(c) || c == ':' || c == '.'; });
  }
  return std::all_of(host.begin(), host.end(), [](char c) { return is_lower_alnum(c) || c == '.' || c == '-'; });
}

// A bucket name usable as the first labels of a host name (the S3 naming rules).
bool dns_compatible_bucket(std::string_view bucket) {
  if (bucket.empty() || bucket.size() > 63) return false;
  if (!is_lower_alnum(bucket.front()) || !is_lower_alnum(bucket.back())) return false;
  if (bucket.find("..") != std::string_view::npos || bucket.find(".-") != std::string_view::npos ||
      bucket.find("-.") != std::string_view::npos) {
    return false;
  }
  return std::all_of(bucket.begin(), bucket.end(), [](char c) { return is_lower_alnum(c) || c == '.' || c == '-'; });
}

bool has_control_char(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

std::string scheme_of(bool tls) { return tls ? "https" : "http"; }

}  // namespace

std::string S3Endpoint::authority() const { return port ? host + ':' + std::to_string(*port) : host; }

std::string S3Endpoint::origin() const { return scheme_of(tls) + "://" + authority(); }

S3Endpoint parse_endpoint(std::string_view endpoint) {
  if (endpoint.empty()) throw config_error("s3 endpoint is empty", "set s3_endpoint, e.g. https://s3.eu-west-1.amazonaws.com");
  // Checked first, on the whole text, and not echoed: what precedes an '@' is likely a secret, and
  // a '/' in it would hide the '@' from a check on the host part alone.
  if (endpoint.find('@') != std::string_view::npos) {
    throw config_error("invalid s3 endpoint: user information in the url is not accepted",
                       "give credentials through AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  const std::string shown(endpoint);
  S3Endpoint out;
  std::string_view rest = endpoint;
  if (std::size_t sep = endpoint.find("://"); sep != std::string_view::npos) {
    const std::string scheme = lowered(endpoint.substr(0, sep));
    if (scheme == "https") {
      out.tls = true;
    } else if (scheme == "http") {
      out.tls = false;
    } else {
      throw config_error("invalid s3 endpoint: unsupported scheme '" + scheme + "' (http or https)");
    }
    rest = endpoint.substr(sep + 3);
  }
  const std::size_t end_of_authority = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end_of_authority);
  if (end_of_authority != std::string_view::npos && rest.substr(end_of_authority) != "/") {
    throw config_error("invalid s3 endpoint '" + shown + "': it has a path, query or fragment",
                       "give the bucket in s3_bucket and the key prefix in s3_prefix");
  }
  if (authority.empty()) throw config_error("invalid s3 endpoint '" + shown + "': no host");

  std::string_view host = authority;
  std::string_view port;
  bool has_port = false;
  if (authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) throw config_error("invalid s3 endpoint '" + shown + "': unclosed '['");
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') throw config_error("invalid s3 endpoint '" + shown + "': text after ']'");
      has_port = true;
      port = after.substr(1);
    }
  } else if (std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    has_port = true;
    port = authority.substr(colon + 1);
  }
  out.host = lowered(host);
  if (!valid_host(out.host)) throw config_error("invalid s3 endpoint '" + shown + "': '" + std::string(host) + "' is not a host");
  if (has_port) {
    unsigned long value = 0;
    const bool digits = !port.empty() && port.size() <= 5 && std::all_of(port.begin(), port.end(), is_digit);
    if (digits) value = std::stoul(std::string(port));
    if (!digits || value == 0 || value > 65535) {
      throw config_error("invalid s3 endpoint '" + shown + "': port '" + std::string(port) + "' is not 1 to 65535");
    }
    if (value != (out.tls ? kHttpsPort : kHttpPort)) out.port = static_cast<std::uint16_t>(value);
  }
  return out;
}

void check_config(const S3Config& config) {
  const S3Endpoint endpoint = parse_endpoint(config.endpoint);
  if (config.bucket.empty()) throw config_error("s3 bucket is empty", "set s3_bucket");
  if (config.addressing == S3Addressing::virtual_host) {
    if (!dns_compatible_bucket(config.bucket)) {
      throw config_error("s3 bucket '" + config.bucket + "' is not a host name label, which virtual-host addressing needs",
                         "use path-style addressing, or a bucket of lower-case letters, digits, '.' and '-'");
    }
    if (is_ip_literal(endpoint.host)) {
      throw config_error("s3 endpoint " + endpoint.host + " is an address, and virtual-host addressing needs a host name",
                         "use path-style addressing");
    }
  } else if (config.bucket.find('/') != std::string::npos || has_control_char(config.bucket)) {
    throw config_error("s3 bucket '" + config.bucket + "' holds '/' or a control character");
  }
  if (config.region.empty()) throw config_error("s3 region is empty", "set s3_region, e.g. us-east-1");
  if (!std::all_of(config.region.begin(), config.region.end(), [](char c) {
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
      })) {
    throw config_error("s3 region '" + config.region + "' is not a region name");
  }
  const std::string prefix = normalized_prefix(config);
  if (has_control_char(prefix)) throw config_error("s3 prefix '" + prefix + "' holds a control character");
  if (!prefix.empty()) {
    std::size_t start = 0;
    while (true) {
      const std::size_t slash = prefix.find('/', start);
      const std::string_view segment = std::string_view(prefix).substr(start, slash - start);
      if (segment.empty() || segment == "." || segment == "..") {
        throw config_error("s3 prefix '" + prefix + "' has an empty, '.' or '..' segment");
      }
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
  }
  if (config.credentials.access_key_id.empty() || config.credentials.secret_access_key.size() == 0) {
    throw config_error("no s3 credentials for bucket '" + config.bucket + "'",
                       "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN for temporary "
                       "credentials), or the variables the repository names");
  }
  if (config.connect_timeout_ms == 0) throw config_error("s3 connect timeout must be above zero");
  if (config.stall_timeout_ms == 0) throw config_error("s3 stall timeout must be above zero");
  if (config.retry.max_attempts == 0) throw config_error("s3 attempts must be at least 1");
}

std::string normalized_prefix(const S3Config& config) {
  std::string_view p = config.prefix;
  while (!p.empty() && p.front() == '/') p.remove_prefix(1);
  while (!p.empty() && p.back() == '/') p.remove_suffix(1);
  return std::string(p);
}

std::string object_key(const S3Config& config, std::string_view object_path) {
  std::string key = normalized_prefix(config);
  if (!key.empty()) key += '/';
  key += object_path;
  return key;
}

std::optional<std::string> object_path_of_key(const S3Config& config, std::string_view key) {
  std::string prefix = normalized_prefix(config);
  if (!prefix.empty()) prefix += '/';
  if (key.size() <= prefix.size() || key.substr(0, prefix.size()) != prefix) return std::nullopt;
  return std::string(key.substr(prefix.size()));
}

namespace {

RequestTarget target_for(const S3Config& config, std::string_view key) {
  const S3Endpoint endpoint = parse_endpoint(config.endpoint);
  RequestTarget t;
  if (config.addressing == S3Addressing::path) {
    t.host = endpoint.authority();
    t.path = '/' + config.bucket;
    if (!key.empty()) {
      t.path += '/';
      t.path += key;
    }
  } else {
    t.host = config.bucket + '.' + endpoint.authority();
    t.path = '/' + std::string(key);
  }
  t.url = scheme_of(endpoint.tls) + "://" + t.host + canonical_uri(t.path);
  return t;
}

}  // namespace

RequestTarget object_target(const S3Config& config, std::string_view object_path) {
  return target_for(config, object_key(config, object_path));
}

RequestTarget bucket_target(const S3Config& config) { return target_for(config, {}); }

std::string describe(const S3Config& config) {
  const std::string prefix = normalized_prefix(config);
  return "s3://" + config.bucket + (prefix.empty() ? "" : "/" + prefix);
}

}  // namespace pgdr::storage::s3
