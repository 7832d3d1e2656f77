#include "bulwark/actors/protocol/cluster_messages.hpp"

#include <caf/sec.hpp>

#include <tuple>

namespace bulwark {

std::string to_string(published_kind x) {
  switch (x) {
    case published_kind::dependency:
      return "dependency";
    case published_kind::supervisor:
      return "supervisor";
    case published_kind::ledger:
      return "ledger";
  }
  return "invalid";
}

namespace {

caf::error invalid() {
  return caf::make_error(caf::sec::invalid_argument);
}

} // namespace

caf::error detail::check_hello(const node_hello& x) {
  if (x.node.size() > max_node_name_bytes)
    return invalid();
  return caf::none;
}

caf::error detail::check_entry(published_entry& x,
                               const std::vector<std::uint8_t>& raw,
                               std::uint8_t raw_kind,
                               std::uint8_t raw_default) {
  if (x.name.size() > max_published_name_bytes
      || x.operations.size() > max_published_operations
      || raw.size() != x.operations.size() || raw_kind >= published_kind_count
      || raw_default > static_cast<std::uint8_t>(idempotency::unsafe))
    return invalid();
  for (auto& op : x.operations)
    if (op.size() > max_operation_name_bytes)
      return invalid();
  if (raw_kind == static_cast<std::uint8_t>(published_kind::ledger)
      && !x.operations.empty())
    return invalid();
  x.idempotencies.clear();
  for (auto r : raw) {
    if (r > static_cast<std::uint8_t>(idempotency::unsafe))
      return invalid();
    x.idempotencies.push_back(static_cast<idempotency>(r));
  }
  x.kind = static_cast<published_kind>(raw_kind);
  x.default_idempotency = static_cast<idempotency>(raw_default);
  return caf::none;
}

caf::error detail::check_welcome(const node_welcome& x) {
  if (x.refusal.size() > max_refusal_bytes
      || x.entries.size() > max_published_names)
    return invalid();
  return check_hello(x.node);
}

bool operator==(const node_hello& x, const node_hello& y) noexcept {
  return std::tie(x.version, x.types_digest, x.node, x.epoch, x.heartbeat_ns,
                  x.timeout_ns)
         == std::tie(y.version, y.types_digest, y.node, y.epoch, y.heartbeat_ns,
                     y.timeout_ns);
}

peer_facts to_peer_facts(const node_hello& x) {
  peer_facts f;
  f.version = x.version;
  f.types_digest = x.types_digest;
  f.node = x.node;
  f.epoch = x.epoch;
  f.heartbeat_ns = x.heartbeat_ns;
  f.timeout_ns = x.timeout_ns;
  return f;
}

} // namespace bulwark
