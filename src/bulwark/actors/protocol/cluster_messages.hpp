// The messages between bulwark nodes' gates (docs/cluster.md): a node greets
// a peer's gate with `(hello_atom, node_hello)`, the gate answers
// `(hello_atom, node_welcome)` with the names it publishes, and
// `(resolve_atom, name)` -> `(resolve_atom, published_entry)` looks one name
// up again (after a remote incarnation ended). What a peer sends is hostile:
// loading checks every size and enum, so a message past a bound is dropped by
// CAF instead of reaching the gate; the meaning (node names, versions, type
// digests) is checked by bulwark/runtime/cluster/hello_check.hpp.
#pragma once

#include "bulwark/runtime/cluster/hello_check.hpp"
#include "bulwark/runtime/core/idempotency.hpp"

#include <caf/actor.hpp>
#include <caf/error.hpp>
#include <caf/meta/load_callback.hpp>
#include <caf/meta/type_name.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bulwark {

/// What a published name is.
/// What a published name is. A `ledger` is a shared ledger's owner
/// (actors/ledger/ledger_owner.hpp): replicas on other nodes send it the
/// ledger messages; it takes no calls and declares no operations.
enum class published_kind : std::uint8_t { dependency, supervisor, ledger };

inline constexpr std::size_t published_kind_count = 3;

std::string to_string(published_kind x);

/// Bounds of what a peer may send in a hello or a welcome.
inline constexpr std::size_t max_node_name_bytes = 64;
inline constexpr std::size_t max_published_names = 256;
inline constexpr std::size_t max_published_name_bytes = 64;
inline constexpr std::size_t max_published_operations = 256;
inline constexpr std::size_t max_operation_name_bytes = 128;
inline constexpr std::size_t max_refusal_bytes = 1024;

/// What a node says about itself when it greets a peer (and what the peer
/// says back in its welcome). Two nodes talk only when `version`,
/// `types_digest` and both failure-detection settings are equal.
struct node_hello {
  /// `cluster_protocol_version` (hello_check.hpp); first, so that any later
  /// layout can still be told apart.
  std::uint32_t version = 0;
  /// `types_digest` of the names of every message type (message_types.hpp).
  std::uint64_t types_digest = 0;
  /// The node's name from its `/cluster/node`.
  std::string node;
  /// Random per process start: tells a restarted node from the old one.
  std::uint64_t epoch = 0;
  /// CAF's `middleman.heartbeat-interval` and `connection-timeout` in ns.
  std::int64_t heartbeat_ns = 0;
  std::int64_t timeout_ns = 0;
};

/// One name a node publishes, with the handle of its live incarnation
/// (invalid while it is not running, e.g. restarting) and the idempotency
/// of each operation it declares (parallel vectors).
struct published_entry {
  std::string name;
  published_kind kind = published_kind::dependency;
  caf::actor handle;
  std::vector<std::string> operations;
  std::vector<idempotency> idempotencies;
  /// For operations not listed.
  idempotency default_idempotency = idempotency::unsafe;
};

/// A gate's answer to a hello: its own facts, and either the published
/// names or the reason it refused.
struct node_welcome {
  node_hello node;
  bool accepted = false;
  std::string refusal;
  std::vector<published_entry> entries;
};

namespace detail {

caf::error check_hello(const node_hello& x);
caf::error check_entry(published_entry& x,
                       const std::vector<std::uint8_t>& raw_idempotencies,
                       std::uint8_t raw_kind, std::uint8_t raw_default);
caf::error check_welcome(const node_welcome& x);

} // namespace detail

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_hello& x) {
  auto load = caf::meta::load_callback(
    [&]() -> caf::error { return detail::check_hello(x); });
  return f(caf::meta::type_name("node_hello"), x.version, x.types_digest,
           x.node, x.epoch, x.heartbeat_ns, x.timeout_ns, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, published_entry& x) {
  auto kind = static_cast<std::uint8_t>(x.kind);
  std::vector<std::uint8_t> raw;
  raw.reserve(x.idempotencies.size());
  for (auto i : x.idempotencies)
    raw.push_back(static_cast<std::uint8_t>(i));
  auto fallback = static_cast<std::uint8_t>(x.default_idempotency);
  auto load = caf::meta::load_callback([&]() -> caf::error {
    return detail::check_entry(x, raw, kind, fallback);
  });
  return f(caf::meta::type_name("published_entry"), x.name, kind, x.handle,
           x.operations, raw, fallback, load);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_welcome& x) {
  auto load = caf::meta::load_callback(
    [&]() -> caf::error { return detail::check_welcome(x); });
  return f(caf::meta::type_name("node_welcome"), x.node, x.accepted, x.refusal,
           x.entries, load);
}

bool operator==(const node_hello& x, const node_hello& y) noexcept;

/// The facts `check_peer` compares (bulwark/runtime/cluster/hello_check.hpp).
peer_facts to_peer_facts(const node_hello& x);

} // namespace bulwark
