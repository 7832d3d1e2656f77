#include "bulwark/runtime/cluster/hello_check.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "bulwark/runtime/config/dependency_config.hpp"
#include "bulwark/runtime/config/duration_text.hpp"

namespace bulwark {

namespace {

constexpr std::uint64_t fnv_offset = 0xcbf29ce484222325ULL;
constexpr std::uint64_t fnv_prime = 0x100000001b3ULL;

void mix(std::uint64_t& h, unsigned char byte) {
  h ^= byte;
  h *= fnv_prime;
}

// A heartbeat setting from the network: a duration when it is one, the raw
// integer otherwise (never trusted to be positive).
std::string show_ns(std::int64_t ns) {
  if (ns < 0)
    return fmt::format("{}ns", ns);
  return format_duration(duration{ns});
}

hello_verdict refuse(hello_refusal why, std::string reason) {
  return hello_verdict{false, why, std::move(reason)};
}

} // namespace

std::uint64_t types_digest(const std::vector<std::string>& names,
                           std::uint32_t version) {
  auto h = fnv_offset;
  for (auto& name : names) {
    for (char c : name)
      mix(h, static_cast<unsigned char>(c));
    mix(h, 0);
  }
  for (int i = 0; i < 4; ++i)
    mix(h, static_cast<unsigned char>((version >> (8 * i)) & 0xff));
  return h;
}

bool is_valid_node_name(std::string_view name) noexcept {
  return is_valid_name(name);
}

std::string to_string(hello_refusal x) {
  switch (x) {
    case hello_refusal::none:
      return "none";
    case hello_refusal::version_differs:
      return "version_differs";
    case hello_refusal::invalid_node_name:
      return "invalid_node_name";
    case hello_refusal::same_node_name:
      return "same_node_name";
    case hello_refusal::message_types_differ:
      return "message_types_differ";
    case hello_refusal::heartbeat_settings_differ:
      return "heartbeat_settings_differ";
    case hello_refusal::not_published:
      return "not_published";
    case hello_refusal::declarations_differ:
      return "declarations_differ";
  }
  return "invalid";
}

hello_verdict check_peer(const peer_facts& local, const peer_facts& remote) {
  if (remote.version != local.version)
    return refuse(hello_refusal::version_differs,
                  fmt::format("protocol version differs: local {}, remote {}",
                              local.version, remote.version));
  if (!is_valid_node_name(remote.node))
    return refuse(hello_refusal::invalid_node_name, "invalid node name");
  if (remote.node == local.node)
    return refuse(hello_refusal::same_node_name,
                  fmt::format("same node name as ours: \"{}\"", remote.node));
  if (remote.types_digest != local.types_digest)
    return refuse(hello_refusal::message_types_differ,
                  fmt::format("message types differ: local 0x{:016x}, remote "
                              "0x{:016x}",
                              local.types_digest, remote.types_digest));
  if (remote.heartbeat_ns != local.heartbeat_ns
      || remote.timeout_ns != local.timeout_ns)
    return refuse(
      hello_refusal::heartbeat_settings_differ,
      fmt::format("heartbeat settings differ: local interval {} "
                  "timeout {}, remote interval {} timeout {}",
                  show_ns(local.heartbeat_ns), show_ns(local.timeout_ns),
                  show_ns(remote.heartbeat_ns), show_ns(remote.timeout_ns)));
  return hello_verdict{};
}

idempotency
published_declaration::idempotency_of(std::string_view op) const noexcept {
  for (auto& x : operations)
    if (x.name == op)
      return x.repeat;
  return repeat;
}

hello_verdict
check_published(std::string_view peer,
                const std::vector<cluster_remote_config>& remotes,
                const std::vector<published_declaration>& published) {
  for (auto& r : remotes) {
    if (r.node != peer)
      continue;
    auto i = std::find_if(published.begin(), published.end(),
                          [&](auto& p) { return p.name == r.target; });
    if (i == published.end())
      return refuse(hello_refusal::not_published,
                    fmt::format("{} does not publish \"{}\" (remote \"{}\")",
                                peer, r.target, r.name));
    if (!i->callable)
      return refuse(hello_refusal::not_published,
                    fmt::format("{} publishes \"{}\" as a ledger owner, not "
                                "a dependency or supervisor (remote \"{}\")",
                                peer, r.target, r.name));
    for (auto& op : r.operations) {
      auto theirs = i->idempotency_of(op.name);
      if (theirs != op.repeat)
        return refuse(hello_refusal::declarations_differ,
                      fmt::format("operation \"{}\" of remote \"{}\" is {} "
                                  "here and {} at {}",
                                  op.name, r.name, to_string(op.repeat),
                                  to_string(theirs), peer));
    }
  }
  return {};
}

} // namespace bulwark
