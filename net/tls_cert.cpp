#include "net/tls_cert.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>

namespace peoplesync::net {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

void need(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("certificate generation failed: ") + what);
}

Key make_key() {
  Key k(EVP_EC_gen("P-256"));
  need(k != nullptr, "EC key");
  return k;
}

void add_ext(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  need(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

Cert make_cert(EVP_PKEY* key, const char* cn, long serial, X509* issuer_cert, EVP_PKEY* issuer_key, bool ca,
               int days) {
  Cert c(X509_new());
  need(c != nullptr, "X509_new");
  X509_set_version(c.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(c.get()), serial);
  if (days >= 0) {
    X509_gmtime_adj(X509_getm_notBefore(c.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c.get()), 60L * 60 * 24 * days);
  } else {  // expired: valid for one day, ending a day ago
    X509_gmtime_adj(X509_getm_notBefore(c.get()), -2L * 86400);
    X509_gmtime_adj(X509_getm_notAfter(c.get()), -1L * 86400);
  }
  X509_set_pubkey(c.get(), key);
  X509_NAME* name = X509_get_subject_name(c.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("peoplesync sandbox"),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509* issuer = issuer_cert ? issuer_cert : c.get();
  X509_set_issuer_name(c.get(), X509_get_subject_name(issuer));
  if (ca) {
    add_ext(c.get(), issuer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(c.get(), issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(c.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
    add_ext(c.get(), issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    add_ext(c.get(), issuer, NID_ext_key_usage, "serverAuth");
    add_ext(c.get(), issuer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
  }
  add_ext(c.get(), issuer, NID_subject_key_identifier, "hash");
  need(X509_sign(c.get(), issuer_key, EVP_sha256()) > 0, "sign");
  return c;
}

void write_pem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "wb");
  need(f != nullptr, "open output file");
  const bool ok = cert ? PEM_write_X509(f, cert) == 1 : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(f);
  need(ok, "write PEM");
  if (key) ::chmod(path.c_str(), 0600);
}

}  // namespace

TlsFiles ensure_tls_files(const std::string& dir, int days_valid, bool self_signed) {
  namespace fs = std::filesystem;
  fs::create_directories(dir);
  TlsFiles files{dir + "/ca.pem", dir + "/server.pem", dir + "/server.key"};
  if (fs::exists(files.ca_cert) && fs::exists(files.server_cert) && fs::exists(files.server_key)) return files;
  Key ca_key = make_key();
  Cert ca = make_cert(ca_key.get(), "peoplesync sandbox CA", 1, nullptr, ca_key.get(), true, 3650);
  Key server_key = make_key();
  Cert server = self_signed
                    ? make_cert(server_key.get(), "localhost", 2, nullptr, server_key.get(), false, days_valid)
                    : make_cert(server_key.get(), "localhost", 2, ca.get(), ca_key.get(), false, days_valid);
  write_pem(files.ca_cert, ca.get(), nullptr);
  write_pem(files.server_cert, server.get(), nullptr);
  write_pem(files.server_key, nullptr, server_key.get());
  return files;
}

}  // namespace peoplesync::net
