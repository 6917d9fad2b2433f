#pragma once
// Test and sandbox certificates: a CA and a server certificate it signs
// (SAN DNS:localhost, IP:127.0.0.1), written as PEM into a directory unless
// they are already there. OpenSSL 3 C API; no openssl binary needed.
#include <string>

namespace peoplesync::net {

struct TlsFiles {
  std::string ca_cert;      // dir/ca.pem
  std::string server_cert;  // dir/server.pem
  std::string server_key;   // dir/server.key
};

// Creates dir if needed. Throws std::runtime_error on failure.
// days_valid < 0 makes an already-expired server certificate (for tests);
// self_signed makes the server certificate sign itself instead of the CA.
TlsFiles ensure_tls_files(const std::string& dir, int days_valid = 825, bool self_signed = false);

}  // namespace peoplesync::net
