#include "bulwark/actors/cluster/cluster_tls.hpp"

#include "bulwark/runtime/core/utf8.hpp"

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#ifdef BULWARK_WITH_TLS
// Not caf/openssl/all.hpp: 0.17.6's unpublish.hpp does not compile (it uses
// 0.18's `unpublish_atom_v`). Unpublishing goes through the plain
// middleman, which shares the BASP broker with the module.
#  include <caf/openssl/manager.hpp>
#  include <caf/openssl/publish.hpp>

#  include <openssl/err.h>
#  include <openssl/ssl.h>
#  include <openssl/x509.h>
#endif

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bulwark {

namespace {

std::string shown(const std::string& path) {
  return "\"" + printable_utf8(path, 256) + "\"";
}

/// Whether `path` is a regular file we can read and that holds a PEM block:
/// CAF reads these files again for every connection and throws in its I/O
/// thread when one fails to load, so a wrong file must stop the start.
std::string check_pem_file(const char* key, const std::string& path) {
  auto prefix = std::string{"/cluster/tls/"} + key + ": ";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return prefix + "cannot read " + shown(path) + ": " + std::strerror(errno);
  struct stat st {};
  std::string error;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    error = prefix + shown(path) + " is not a regular file";
  } else {
    // A PEM file starts with its first "-----BEGIN" within a few lines of
    // text; the first 4 KiB hold it for every file we accept.
    std::array<char, 4096> head{};
    auto n = ::read(fd, head.data(), head.size());
    std::string text{head.data(), n > 0 ? static_cast<std::size_t>(n) : 0};
    if (n < 0)
      error =
        prefix + "cannot read " + shown(path) + ": " + std::strerror(errno);
    else if (text.find("-----BEGIN ") == std::string::npos)
      error = prefix + shown(path) + " is not a PEM file";
  }
  ::close(fd);
  return error;
}

std::string check_directory(const char* key, const std::string& path) {
  auto prefix = std::string{"/cluster/tls/"} + key + ": ";
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr)
    return prefix + "cannot read the directory " + shown(path) + ": "
           + std::strerror(errno);
  ::closedir(dir);
  return {};
}

/// The passphrase from the environment, or nullptr.
const char* passphrase_of(const cluster_tls_config& tls) {
  // The name was checked by the parser (letters, digits, '_').
  const char* value = tls.passphrase_env.empty()
                        ? nullptr
                        : std::getenv(tls.passphrase_env.c_str());
  return value != nullptr && *value != '\0' ? value : nullptr;
}

#ifdef BULWARK_WITH_TLS
/// OpenSSL's queued errors, bounded (they may quote a path).
std::string openssl_errors() {
  std::string text;
  while (auto code = ERR_get_error()) {
    std::array<char, 256> buf{};
    ERR_error_string_n(code, buf.data(), buf.size());
    if (text.size() < 512)
      text += (text.empty() ? "" : "; ") + std::string{buf.data()};
  }
  return printable_utf8(text, 600);
}

int passphrase_callback(char* buf, int size, int, void* user) {
  auto* passphrase = static_cast<const char*>(user);
  if (passphrase == nullptr || size <= 0)
    return 0; // never a prompt on the terminal
  auto n = std::min<std::size_t>(std::strlen(passphrase),
                                 static_cast<std::size_t>(size - 1));
  std::memcpy(buf, passphrase, n);
  buf[n] = '\0';
  return static_cast<int>(n);
}

std::string show_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1)
    return "(unreadable date)";
  std::array<char, 32> buf{};
  std::strftime(buf.data(), buf.size(), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf.data();
}

/// Empty when `cert` is valid now. Peers refuse an expired or not yet valid
/// certificate in the handshake, where all the node would see is links
/// that never come up; at start the reason can be named.
std::string check_validity(X509* cert) {
  if (cert == nullptr)
    return "holds no certificate";
  auto* not_after = X509_get0_notAfter(cert);
  auto* not_before = X509_get0_notBefore(cert);
  if (X509_cmp_current_time(not_after) <= 0)
    return "has expired: valid until " + show_time(not_after);
  if (X509_cmp_current_time(not_before) >= 0)
    return "is not valid yet: valid from " + show_time(not_before);
  return {};
}

/// Loads the files as CAF 0.17.6 does for every connection (session.cpp,
/// create_ssl_context). CAF throws in its I/O thread when that fails, which
/// ends the process at the first connection (measured: a wrong passphrase
/// aborts the node when a peer connects), so whatever fails must stop the
/// start instead.
std::vector<std::string> check_loadable(const cluster_tls_config& tls,
                                        const char* passphrase) {
  std::vector<std::string> errors;
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  if (ctx == nullptr) {
    errors.emplace_back("/cluster/tls: cannot create an OpenSSL context: "
                        + openssl_errors());
    return errors;
  }
  SSL_CTX_set_default_passwd_cb(ctx, passphrase_callback);
  SSL_CTX_set_default_passwd_cb_userdata(ctx, const_cast<char*>(passphrase));
  bool have_certificate =
    SSL_CTX_use_certificate_chain_file(ctx, tls.certificate.c_str()) == 1;
  if (!have_certificate)
    errors.emplace_back("/cluster/tls/certificate: cannot load "
                        + shown(tls.certificate) + ": " + openssl_errors());
  else if (auto error = check_validity(SSL_CTX_get0_certificate(ctx));
           !error.empty())
    errors.emplace_back("/cluster/tls/certificate: " + shown(tls.certificate)
                        + " " + error);
  if (SSL_CTX_use_PrivateKey_file(ctx, tls.key.c_str(), SSL_FILETYPE_PEM)
      != 1) {
    // OpenSSL 3 checks the key against the certificate while loading it.
    auto code = ERR_peek_last_error();
    bool mismatch = ERR_GET_LIB(code) == ERR_LIB_X509
                    && ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH;
    errors.emplace_back(
      "/cluster/tls/key: "
      + (mismatch
           ? shown(tls.key) + " is not the key of the certificate"
           : "cannot load " + shown(tls.key)
               + (passphrase == nullptr ? " (encrypted? set passphrase_env)"
                                        : " (wrong passphrase?)"))
      + ": " + openssl_errors());
  } else if (have_certificate && SSL_CTX_check_private_key(ctx) != 1) {
    errors.emplace_back("/cluster/tls/key: " + shown(tls.key)
                        + " is not the key of the certificate: "
                        + openssl_errors());
  }
  if (SSL_CTX_load_verify_locations(ctx, tls.cafile.c_str(),
                                    tls.capath.empty() ? nullptr
                                                       : tls.capath.c_str())
      != 1)
    errors.emplace_back("/cluster/tls/cafile: cannot load " + shown(tls.cafile)
                        + ": " + openssl_errors());
  SSL_CTX_free(ctx);
  ERR_clear_error();
  return errors;
}
#endif

} // namespace

bool cluster_tls_built() noexcept {
#ifdef BULWARK_WITH_TLS
  return true;
#else
  return false;
#endif
}

std::vector<std::string> check_cluster_tls(const cluster_tls_config& tls) {
  std::vector<std::string> errors;
  if (!cluster_tls_built()) {
    errors.emplace_back("/cluster/tls: this build has no TLS (libcaf_openssl)");
    return errors;
  }
  for (auto [key, path] :
       {std::pair{"certificate", &tls.certificate}, std::pair{"key", &tls.key},
        std::pair{"cafile", &tls.cafile}})
    if (auto error = check_pem_file(key, *path); !error.empty())
      errors.push_back(std::move(error));
  if (!tls.capath.empty())
    if (auto error = check_directory("capath", tls.capath); !error.empty())
      errors.push_back(std::move(error));
  if (!tls.passphrase_env.empty() && passphrase_of(tls) == nullptr)
    errors.emplace_back("/cluster/tls/passphrase_env: the environment "
                        "variable "
                        + tls.passphrase_env + " is not set or empty");
#ifdef BULWARK_WITH_TLS
  if (errors.empty())
    errors = check_loadable(tls, passphrase_of(tls));
#endif
  return errors;
}

std::vector<std::string> configure_cluster_tls(caf::actor_system_config& cfg,
                                               const cluster_tls_config& tls) {
  auto errors = check_cluster_tls(tls);
  if (!errors.empty())
    return errors;
#ifdef BULWARK_WITH_TLS
  cfg.load<caf::openssl::manager>();
  // Any openssl.* key turns authentication on (manager::
  // authentication_enabled): both sides then present and verify a
  // certificate. Without keys the module would use anonymous ciphers.
  cfg.set("openssl.certificate", tls.certificate);
  cfg.set("openssl.key", tls.key);
  cfg.set("openssl.cafile", tls.cafile);
  if (!tls.capath.empty())
    cfg.set("openssl.capath", tls.capath);
  if (auto* passphrase = passphrase_of(tls))
    cfg.set("openssl.passphrase", std::string{passphrase});
#else
  (void)cfg;
#endif
  return errors;
}

caf::io::middleman_actor cluster_middleman(caf::actor_system& sys, bool tls) {
#ifdef BULWARK_WITH_TLS
  if (tls)
    return sys.openssl_manager().actor_handle();
#else
  if (tls)
    return {}; // never a plaintext connect for a TLS node
#endif
  return sys.middleman().actor_handle();
}

caf::expected<std::uint16_t>
publish_cluster_gate(caf::actor_system& sys, const caf::actor& gate,
                     std::uint16_t port, const std::string& host, bool tls) {
#ifdef BULWARK_WITH_TLS
  if (tls)
    return caf::openssl::publish(gate, port, host.c_str(), true);
#else
  if (tls) // never a plaintext listener for a TLS node
    return caf::make_error(caf::sec::invalid_argument);
#endif
  return sys.middleman().publish(gate, port, host.c_str(), true);
}

} // namespace bulwark
