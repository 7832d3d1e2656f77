// The `/cluster` section of the configuration document: this node's name, the
// address its gate listens on, which of its names peers may call, the peers it
// connects to, the remote dependencies and supervisors it calls there, and
// the failure-detection, reconnect and TLS settings (docs/cluster.md). The
// section is restart-only: CAF reads heartbeat and TLS settings once, before
// the actor system starts, so `cluster_change_error` refuses a reload that
// changes it. Checks that need the rest of the document (published names
// exist, remote names do not clash with local ones) are made by
// `validate_bulwark_config`; whether TLS files are readable is checked by the
// actors layer at start.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "bulwark/runtime/config/config_error.hpp"
#include "bulwark/runtime/config/dependency_config.hpp"
#include "bulwark/runtime/config/json_path.hpp"
#include "bulwark/runtime/core/idempotency.hpp"
#include "bulwark/runtime/core/time.hpp"

namespace bulwark {

/// Where a peer's gate listens, and how much may be out at that node at once.
struct cluster_peer_config {
  std::string name;
  std::string host;
  std::uint32_t port = 0;
  /// Calls out at the node at once, over all its remotes.
  std::uint32_t max_in_flight = 1024;
  /// Bytes of operation + payload + key out at the node at once.
  std::int64_t max_in_flight_bytes = 16 * 1024 * 1024;
};

/// A dependency or supervisor published by a peer, called under a local name.
struct cluster_remote_config {
  std::string name; // local name: unique across the whole document
  std::string node; // a key of `peers`
  std::string target; // the published name on that node (key "name")
  /// Must equal the remote's own declaration (checked in the hello).
  std::vector<operation_config> operations;
  /// For operations not listed.
  idempotency default_repeat = idempotency::unsafe;

  /// How operation `op` may be repeated.
  idempotency idempotency_of(std::string_view op) const noexcept;
};

/// CAF's `middleman.heartbeat-interval` and `middleman.connection-timeout`.
struct cluster_failure_detection_config {
  duration heartbeat_interval = milliseconds(100);
  /// At least 3 heartbeat intervals.
  duration connection_timeout = milliseconds(500);
};

/// How one peer's link is (re)established: see peer_link_core.
struct cluster_connect_config {
  duration probe_timeout = milliseconds(250);
  duration handshake_timeout = seconds(1);
  std::uint32_t handshake_retries = 3;
  duration min_backoff = milliseconds(50);
  duration max_backoff = seconds(5);
  double random_factor = 0.2;
};

/// Mutual TLS through CAF's OpenSSL module; certificate, key and cafile are
/// required together.
struct cluster_tls_config {
  static constexpr std::size_t max_path_bytes = 4096;

  std::string certificate;
  std::string key;
  std::string cafile;
  std::string capath; // "" = none
  std::string passphrase_env; // "" = no passphrase
};

struct cluster_config {
  static constexpr std::size_t max_publish = 64;
  static constexpr std::size_t max_peers = 64;
  static constexpr std::size_t max_remotes = 256;
  static constexpr std::size_t max_operations = 256;

  std::string node;
  std::string listen_host = "127.0.0.1";
  /// Absent: this node does not listen (it only calls out).
  std::optional<std::uint16_t> listen_port;
  std::vector<std::string> publish;
  std::vector<cluster_peer_config> peers;
  std::vector<cluster_remote_config> remotes;
  cluster_failure_detection_config failure_detection;
  cluster_connect_config connect;
  std::optional<cluster_tls_config> tls;
  bool allow_remote_spawn = false;
  bool insecure_plaintext = false;

  /// The peer named `name`, or nullptr.
  const cluster_peer_config* find_peer(std::string_view name) const noexcept;

  /// The remote named `name` (its local name), or nullptr.
  const cluster_remote_config*
  find_remote(std::string_view name) const noexcept;
};

/// Whether `host` is an IPv4 or IPv6 literal (no zone id) or "localhost".
bool is_valid_cluster_host(std::string_view host) noexcept;

/// Whether `host` (a valid cluster host) is a loopback address: 127.0.0.0/8,
/// ::1, ::ffff:127.0.0.0/104 or "localhost".
bool is_loopback_host(std::string_view host) noexcept;

/// Reads the `/cluster` object at `at`. Rules that need only this section are
/// checked here (peers' names, remotes' nodes, bounds, TLS completeness,
/// plaintext only on loopback, `connection_timeout` >= 3 x interval).
cluster_config parse_cluster_config(const boost::json::value& v,
                                    const json_path& at, error_list& errors);

/// The object that parses back into `cfg`, every key spelled out except
/// `listen.port` and `tls`, whose absence means "off".
boost::json::object to_json(const cluster_config& cfg);

/// Why a document with `proposed` may not replace one with `in_force` while
/// the process runs (`/cluster: changes need a restart`), or nothing when
/// the sections are equal (both absent included).
std::optional<config_error>
cluster_change_error(const std::optional<cluster_config>& in_force,
                     const std::optional<cluster_config>& proposed);

} // namespace bulwark
