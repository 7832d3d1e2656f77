// Mutual TLS between nodes through CAF 0.17.6's OpenSSL module
// (docs/cluster.md, "Mutual TLS"). `configure_cluster_tls` checks the files
// and the passphrase named by `/cluster/tls` at start and loads the module;
// a TLS node then publishes its gate and connects to its peers only through
// the module's middleman actor, so it has no plaintext listener. The module
// verifies the peer's certificate against the cluster CA on both sides of
// every connection but checks no host name: any certificate the CA signed is
// a member, so the CA must be private to the cluster. A build without
// libcaf_openssl (`BULWARK_WITH_TLS` off) refuses a document with `tls`.
#pragma once

#include "bulwark/runtime/cluster/cluster_config.hpp"

#include <caf/expected.hpp>
#include <caf/fwd.hpp>
#include <caf/io/middleman_actor.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace bulwark {

/// Whether this build has mutual TLS (was linked with libcaf_openssl).
bool cluster_tls_built() noexcept;

/// Every reason `tls` cannot be used ("/cluster/tls/KEY: ..."): a build
/// without TLS, a certificate, key or cafile that is not a readable PEM
/// file, a capath that is not a readable directory, a passphrase variable
/// that is not set; then the files are loaded with OpenSSL as CAF will load
/// them for every connection (a key that does not decrypt or does not match
/// the certificate, a CA file without a certificate).
std::vector<std::string> check_cluster_tls(const cluster_tls_config& tls);

/// `check_cluster_tls`, then, when it passes, loads CAF's OpenSSL module
/// into `cfg` and sets its `openssl.*` keys; the passphrase is read from the
/// environment, never from the document. Returns every error, changing
/// nothing when there is one. The middleman must be loaded first (the
/// module refuses to start without it).
std::vector<std::string> configure_cluster_tls(caf::actor_system_config& cfg,
                                               const cluster_tls_config& tls);

/// The middleman actor a node connects through: the OpenSSL module's when
/// `tls`, else the plain middleman's.
caf::io::middleman_actor cluster_middleman(caf::actor_system& sys, bool tls);

/// Publishes `gate` on `host`:`port` with address reuse, through the OpenSSL
/// module when `tls`; returns the bound port.
caf::expected<std::uint16_t>
publish_cluster_gate(caf::actor_system& sys, const caf::actor& gate,
                     std::uint16_t port, const std::string& host, bool tls);

} // namespace bulwark
