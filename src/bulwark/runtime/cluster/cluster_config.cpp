#include "bulwark/runtime/cluster/cluster_config.hpp"

#include <array>
#include <set>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

idempotency
cluster_remote_config::idempotency_of(std::string_view op) const noexcept {
  for (auto& x : operations)
    if (x.name == op)
      return x.repeat;
  return default_repeat;
}

const cluster_peer_config*
cluster_config::find_peer(std::string_view name) const noexcept {
  for (auto& peer : peers)
    if (peer.name == name)
      return &peer;
  return nullptr;
}

const cluster_remote_config*
cluster_config::find_remote(std::string_view name) const noexcept {
  for (auto& remote : remotes)
    if (remote.name == name)
      return &remote;
  return nullptr;
}

namespace {

constexpr std::size_t max_host_bytes = 64;

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int hex_value(char c) {
  if (is_digit(c))
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

// Dotted quad, four decimal octets without leading zeros (inet_aton would
// read "010" as octal: refuse the ambiguity).
bool parse_ipv4(std::string_view text, std::array<std::uint8_t, 4>& out) {
  std::size_t part = 0;
  std::size_t pos = 0;
  while (true) {
    auto end = text.find('.', pos);
    auto last = end == std::string_view::npos;
    auto digits = text.substr(pos, last ? text.size() - pos : end - pos);
    if (part == 4 || digits.empty() || digits.size() > 3
        || (digits.size() > 1 && digits[0] == '0'))
      return false;
    unsigned value = 0;
    for (char c : digits) {
      if (!is_digit(c))
        return false;
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value > 255)
      return false;
    out[part++] = static_cast<std::uint8_t>(value);
    if (last)
      return part == 4;
    pos = end + 1;
  }
}

// Groups of 1-4 hex digits, at most one "::", optionally a dotted quad as
// the last 32 bits. No zone id ("%eth0").
bool parse_ipv6(std::string_view text, std::array<std::uint8_t, 16>& out) {
  std::array<std::uint16_t, 8> head{}, tail{};
  std::size_t n_head = 0, n_tail = 0;
  bool gap = false;
  auto gap_at = text.find("::");
  if (gap_at != std::string_view::npos) {
    if (text.find("::", gap_at + 1) != std::string_view::npos)
      return false;
    gap = true;
  }
  // Parses "a:b:c" (possibly empty) into groups; the last may be a dotted
  // quad when `allow_v4`.
  auto parse_groups = [](std::string_view part, std::array<std::uint16_t, 8>& g,
                         std::size_t& n, bool allow_v4) {
    if (part.empty())
      return true;
    std::size_t pos = 0;
    while (true) {
      auto end = part.find(':', pos);
      auto last = end == std::string_view::npos;
      auto group = part.substr(pos, last ? part.size() - pos : end - pos);
      if (last && allow_v4 && group.find('.') != std::string_view::npos) {
        std::array<std::uint8_t, 4> v4{};
        if (n > 6 || !parse_ipv4(group, v4))
          return false;
        g[n++] = static_cast<std::uint16_t>(v4[0] << 8 | v4[1]);
        g[n++] = static_cast<std::uint16_t>(v4[2] << 8 | v4[3]);
        return true;
      }
      if (group.empty() || group.size() > 4 || n >= 8)
        return false;
      unsigned value = 0;
      for (char c : group) {
        auto h = hex_value(c);
        if (h < 0)
          return false;
        value = value * 16 + static_cast<unsigned>(h);
      }
      g[n++] = static_cast<std::uint16_t>(value);
      if (last)
        return true;
      pos = end + 1;
    }
  };
  if (gap) {
    if (!parse_groups(text.substr(0, gap_at), head, n_head, false)
        || !parse_groups(text.substr(gap_at + 2), tail, n_tail, true)
        || n_head + n_tail > 7)
      return false;
  } else {
    if (!parse_groups(text, head, n_head, true) || n_head != 8)
      return false;
  }
  std::array<std::uint16_t, 8> groups{};
  for (std::size_t i = 0; i < n_head; ++i)
    groups[i] = head[i];
  for (std::size_t i = 0; i < n_tail; ++i)
    groups[8 - n_tail + i] = tail[i];
  for (std::size_t i = 0; i < 8; ++i) {
    out[2 * i] = static_cast<std::uint8_t>(groups[i] >> 8);
    out[2 * i + 1] = static_cast<std::uint8_t>(groups[i] & 0xff);
  }
  return true;
}

constexpr std::initializer_list<idempotency> all_idempotency = {
  idempotency::idempotent, idempotency::keyed, idempotency::unsafe};

const char* name_rule = "must be 1 to 64 characters of A-Z, a-z, 0-9, '_', "
                        "'-', '.'";

// A name read from a string value (not an object key).
void read_name(object_reader& r, std::string_view key, std::string& out) {
  auto* v = r.find(key);
  if (v == nullptr)
    return;
  auto* s = v->if_string();
  if (s == nullptr || !is_valid_name(std::string_view{s->data(), s->size()})) {
    r.errors().add(r.path(key),
                   fmt::format("{} (got: {})", name_rule, describe_json(*v)));
    return;
  }
  out.assign(s->data(), s->size());
}

void read_host(object_reader& r, std::string& out) {
  auto* v = r.find("host");
  if (v == nullptr)
    return;
  auto* s = v->if_string();
  if (s == nullptr || s->size() > max_host_bytes
      || !is_valid_cluster_host(std::string_view{s->data(), s->size()})) {
    r.errors().add(r.path("host"),
                   fmt::format("must be an IP address such as \"127.0.0.1\" "
                               "or \"::1\", or \"localhost\" (got: {})",
                               describe_json(*v)));
    return;
  }
  out.assign(s->data(), s->size());
}

void read_path(object_reader& r, std::string_view key, std::string& out,
               bool allow_empty) {
  auto* v = r.find(key);
  if (v == nullptr)
    return;
  auto* s = v->if_string();
  if (s == nullptr) {
    r.errors().add(r.path(key), fmt::format("must be a string (got: {})",
                                            describe_json(*v)));
    return;
  }
  if (s->empty() && !allow_empty) {
    r.errors().add(r.path(key), "must not be empty");
    return;
  }
  if (s->size() > cluster_tls_config::max_path_bytes) {
    r.errors().add(r.path(key),
                   fmt::format("must be at most {} bytes (got: {} bytes)",
                               cluster_tls_config::max_path_bytes, s->size()));
    return;
  }
  for (std::size_t i = 0; i < s->size(); ++i) {
    auto c = static_cast<unsigned char>((*s)[i]);
    if (c < 0x20 || c == 0x7f) {
      r.errors().add(r.path(key),
                     fmt::format("must not contain control characters (byte "
                                 "{} is 0x{:02x})",
                                 i, static_cast<unsigned>(c)));
      return;
    }
  }
  out.assign(s->data(), s->size());
}

bool is_env_name(std::string_view s) {
  if (s.empty() || s.size() > 128 || is_digit(s[0]))
    return false;
  for (char c : s)
    if (!(is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
          || c == '_'))
      return false;
  return true;
}

const boost::json::value& empty_object() {
  static const boost::json::value x = boost::json::object{};
  return x;
}

// An object whose keys are names chosen by the user; calls `each` for every
// member with a valid name, at most `max` of them.
template <class F>
void for_each_named(object_reader& r, std::string_view key,
                    std::string_view what, std::size_t max, F each) {
  auto* v = r.find(key);
  if (v == nullptr)
    return;
  auto at = r.path(key);
  auto* obj = v->if_object();
  if (obj == nullptr) {
    r.errors().add(at, fmt::format("must be an object mapping {} names to "
                                   "their settings (got: {})",
                                   what, describe_json(*v)));
    return;
  }
  if (obj->size() > max) {
    r.errors().add(at, fmt::format("must have at most {} entries (got: {})",
                                   max, obj->size()));
    return;
  }
  for (auto& member : *obj) {
    std::string_view name{member.key().data(), member.key().size()};
    if (!is_valid_name(name)) {
      r.errors().add(at / name, fmt::format("{} names {}", what, name_rule));
      continue;
    }
    each(name, member.value(), at / name);
  }
}

cluster_peer_config parse_peer(const boost::json::value& v, const json_path& at,
                               std::string_view name, error_list& errors) {
  cluster_peer_config peer;
  peer.name = std::string{name};
  object_reader r{
    v, at, errors, {"host", "port", "max_in_flight", "max_in_flight_bytes"}};
  if (r.require("host"))
    read_host(r, peer.host);
  if (r.require("port"))
    r.read("port", peer.port, 1, 65535);
  r.read("max_in_flight", peer.max_in_flight, 1, 100000);
  r.read("max_in_flight_bytes", peer.max_in_flight_bytes, 65536,
         std::int64_t{1} << 30);
  return peer;
}

cluster_remote_config parse_remote(const boost::json::value& v,
                                   const json_path& at, std::string_view name,
                                   error_list& errors) {
  cluster_remote_config remote;
  remote.name = std::string{name};
  object_reader r{
    v, at, errors, {"node", "name", "operations", "default_idempotency"}};
  if (r.require("node"))
    read_name(r, "node", remote.node);
  if (r.require("name"))
    read_name(r, "name", remote.target);
  r.read_enum("default_idempotency", remote.default_repeat, all_idempotency);
  for_each_named(
    r, "operations", "operation", cluster_config::max_operations,
    [&](std::string_view op, const boost::json::value& x, const json_path& p) {
      operation_config cfg;
      cfg.name = std::string{op};
      if (auto* s = x.if_string()) {
        for (auto candidate : all_idempotency)
          if (to_string(candidate) == std::string_view{s->data(), s->size()}) {
            cfg.repeat = candidate;
            remote.operations.push_back(std::move(cfg));
            return;
          }
      }
      errors.add(p, fmt::format("must be one of \"idempotent\", \"keyed\", "
                                "\"unsafe\" (got: {})",
                                describe_json(x)));
    });
  return remote;
}

std::optional<cluster_tls_config> parse_tls(const boost::json::value& v,
                                            const json_path& at,
                                            error_list& errors) {
  cluster_tls_config tls;
  object_reader r{v,
                  at,
                  errors,
                  {"certificate", "key", "cafile", "capath", "passphrase_env"}};
  if (!r.valid())
    return std::nullopt;
  for (auto key : {"certificate", "key", "cafile"})
    if (r.find(key) == nullptr)
      errors.add(r.path(key), "is required: certificate, key and cafile go "
                              "together");
  read_path(r, "certificate", tls.certificate, false);
  read_path(r, "key", tls.key, false);
  read_path(r, "cafile", tls.cafile, false);
  read_path(r, "capath", tls.capath, true);
  if (auto* pe = r.find("passphrase_env")) {
    auto* s = pe->if_string();
    if (s != nullptr && (s->empty() || is_env_name({s->data(), s->size()})))
      tls.passphrase_env.assign(s->data(), s->size());
    else
      errors.add(r.path("passphrase_env"),
                 fmt::format("must be an environment variable name (A-Z, a-z, "
                             "0-9, '_', not starting with a digit, at most 128 "
                             "characters) or \"\" (got: {})",
                             describe_json(*pe)));
  }
  return tls;
}

} // namespace

bool is_valid_cluster_host(std::string_view host) noexcept {
  if (host == "localhost")
    return true;
  if (host.empty() || host.size() > max_host_bytes)
    return false;
  std::array<std::uint8_t, 4> v4{};
  std::array<std::uint8_t, 16> v6{};
  return parse_ipv4(host, v4) || parse_ipv6(host, v6);
}

bool is_loopback_host(std::string_view host) noexcept {
  if (host == "localhost")
    return true;
  if (host.empty() || host.size() > max_host_bytes)
    return false;
  std::array<std::uint8_t, 4> v4{};
  if (parse_ipv4(host, v4))
    return v4[0] == 127;
  std::array<std::uint8_t, 16> v6{};
  if (!parse_ipv6(host, v6))
    return false;
  bool zero_prefix = true;
  for (std::size_t i = 0; i < 10; ++i)
    zero_prefix = zero_prefix && v6[i] == 0;
  if (!zero_prefix)
    return false;
  if (v6[10] == 0xff && v6[11] == 0xff) // IPv4-mapped
    return v6[12] == 127;
  return v6[10] == 0 && v6[11] == 0 && v6[12] == 0 && v6[13] == 0 && v6[14] == 0
         && v6[15] == 1;
}

cluster_config parse_cluster_config(const boost::json::value& v,
                                    const json_path& at, error_list& errors) {
  cluster_config cfg;
  object_reader r{v,
                  at,
                  errors,
                  {"node", "listen", "publish", "peers", "remotes",
                   "failure_detection", "connect", "tls", "allow_remote_spawn",
                   "insecure_plaintext"}};
  if (!r.valid())
    return cfg;
  if (r.require("node"))
    read_name(r, "node", cfg.node);
  r.read("allow_remote_spawn", cfg.allow_remote_spawn);
  r.read("insecure_plaintext", cfg.insecure_plaintext);
  // Sections read on an empty object when absent, so their keys are known to
  // the schema (docs test) like a dependency's policy sections.
  auto section = [&](std::string_view key) -> const boost::json::value& {
    auto* x = r.find(key);
    return x != nullptr ? *x : empty_object();
  };
  bool listen_given = r.find("listen") != nullptr;
  {
    object_reader lr{
      section("listen"), r.path("listen"), errors, {"host", "port"}};
    read_host(lr, cfg.listen_host);
    std::int64_t port = -1;
    lr.read("port", port, 0, 65535);
    if (port >= 0)
      cfg.listen_port = static_cast<std::uint16_t>(port);
  }
  if (auto* pub = r.find("publish")) {
    auto pub_at = r.path("publish");
    if (auto* arr = pub->if_array()) {
      if (arr->size() > cluster_config::max_publish) {
        errors.add(pub_at,
                   fmt::format("must have at most {} names (got: {})",
                               cluster_config::max_publish, arr->size()));
      } else {
        std::set<std::string> seen;
        for (std::size_t i = 0; i < arr->size(); ++i) {
          auto* s = (*arr)[i].if_string();
          if (s == nullptr
              || !is_valid_name(std::string_view{s->data(), s->size()})) {
            errors.add(pub_at / i, fmt::format("{} (got: {})", name_rule,
                                               describe_json((*arr)[i])));
            continue;
          }
          std::string name{s->data(), s->size()};
          if (!seen.insert(name).second) {
            errors.add(pub_at / i,
                       fmt::format("\"{}\" is published twice", name));
            continue;
          }
          cfg.publish.push_back(std::move(name));
        }
      }
    } else {
      errors.add(pub_at, fmt::format("must be an array of names (got: {})",
                                     describe_json(*pub)));
    }
    if (pub->is_array() && !pub->get_array().empty() && !cfg.listen_port)
      errors.add(pub_at, fmt::format("publishing needs a listener: set {}",
                                     (r.path("listen") / "port").str()));
  }
  for_each_named(r, "peers", "peer", cluster_config::max_peers,
                 [&](std::string_view name, const boost::json::value& x,
                     const json_path& p) {
                   if (name == cfg.node)
                     errors.add(p, fmt::format("is this node's own name ({}); "
                                               "a node is not its own peer",
                                               r.path("node").str()));
                   cfg.peers.push_back(parse_peer(x, p, name, errors));
                 });
  for_each_named(r, "remotes", "remote", cluster_config::max_remotes,
                 [&](std::string_view name, const boost::json::value& x,
                     const json_path& p) {
                   cfg.remotes.push_back(parse_remote(x, p, name, errors));
                 });
  {
    auto fd_at = r.path("failure_detection");
    object_reader fr{section("failure_detection"),
                     fd_at,
                     errors,
                     {"heartbeat_interval", "connection_timeout"}};
    auto& fd = cfg.failure_detection;
    fr.read("heartbeat_interval", fd.heartbeat_interval, milliseconds(10),
            seconds(10));
    auto before = errors.size();
    fr.read("connection_timeout", fd.connection_timeout, milliseconds(30),
            seconds(60));
    if (errors.size() == before
        && fd.connection_timeout < 3 * fd.heartbeat_interval)
      errors.add(fd_at / "connection_timeout",
                 fmt::format("must be at least 3 x heartbeat_interval ({}) "
                             "(got: \"{}\")",
                             format_duration(3 * fd.heartbeat_interval),
                             format_duration(fd.connection_timeout)));
  }
  {
    auto c_at = r.path("connect");
    object_reader cr{section("connect"),
                     c_at,
                     errors,
                     {"probe_timeout", "handshake_timeout", "handshake_retries",
                      "min_backoff", "max_backoff", "random_factor"}};
    auto& c = cfg.connect;
    cr.read("probe_timeout", c.probe_timeout, milliseconds(10), seconds(10));
    cr.read("handshake_timeout", c.handshake_timeout, milliseconds(100),
            seconds(60));
    cr.read("handshake_retries", c.handshake_retries, 0, 10);
    cr.read("min_backoff", c.min_backoff, milliseconds(1), seconds(10));
    auto before = errors.size();
    cr.read("max_backoff", c.max_backoff, milliseconds(1), minutes(5));
    if (errors.size() == before && c.max_backoff < c.min_backoff)
      errors.add(c_at / "max_backoff",
                 fmt::format("must be at least min_backoff ({}) (got: \"{}\")",
                             format_duration(c.min_backoff),
                             format_duration(c.max_backoff)));
    cr.read("random_factor", c.random_factor, 0.0, 1.0);
  }
  if (auto* tls = r.find("tls"))
    cfg.tls = parse_tls(*tls, r.path("tls"), errors);
  // Cross-field rules of the section.
  auto peers_at = r.path("peers");
  for (auto& remote : cfg.remotes)
    if (!remote.node.empty() && cfg.find_peer(remote.node) == nullptr)
      errors.add(r.path("remotes") / remote.name / "node",
                 fmt::format("names no peer of {} (got: \"{}\")",
                             peers_at.str(), remote.node));
  if (!cfg.tls && !cfg.insecure_plaintext) {
    auto plaintext =
      fmt::format("is not a loopback address: plaintext BASP "
                  "off this machine needs {} or {}: true",
                  r.path("tls").str(), r.path("insecure_plaintext").str());
    if (listen_given && !is_loopback_host(cfg.listen_host))
      errors.add(r.path("listen") / "host",
                 fmt::format("{} (got: \"{}\")", plaintext, cfg.listen_host));
    for (auto& peer : cfg.peers)
      if (!peer.host.empty() && !is_loopback_host(peer.host))
        errors.add(peers_at / peer.name / "host",
                   fmt::format("{} (got: \"{}\")", plaintext, peer.host));
  }
  return cfg;
}

boost::json::object to_json(const cluster_config& cfg) {
  boost::json::object result;
  result["node"] = cfg.node;
  boost::json::object listen{{"host", cfg.listen_host}};
  if (cfg.listen_port)
    listen["port"] = *cfg.listen_port;
  result["listen"] = std::move(listen);
  boost::json::array publish;
  for (auto& name : cfg.publish)
    publish.emplace_back(name);
  result["publish"] = std::move(publish);
  boost::json::object peers;
  for (auto& peer : cfg.peers)
    peers[peer.name] =
      boost::json::object{{"host", peer.host},
                          {"port", peer.port},
                          {"max_in_flight", peer.max_in_flight},
                          {"max_in_flight_bytes", peer.max_in_flight_bytes}};
  result["peers"] = std::move(peers);
  boost::json::object remotes;
  for (auto& remote : cfg.remotes) {
    boost::json::object ops;
    for (auto& op : remote.operations)
      ops[op.name] = to_string(op.repeat);
    remotes[remote.name] = boost::json::object{
      {"node", remote.node},
      {"name", remote.target},
      {"operations", std::move(ops)},
      {"default_idempotency", to_string(remote.default_repeat)}};
  }
  result["remotes"] = std::move(remotes);
  auto& fd = cfg.failure_detection;
  result["failure_detection"] = boost::json::object{
    {"heartbeat_interval", format_duration(fd.heartbeat_interval)},
    {"connection_timeout", format_duration(fd.connection_timeout)}};
  auto& c = cfg.connect;
  result["connect"] = boost::json::object{
    {"probe_timeout", format_duration(c.probe_timeout)},
    {"handshake_timeout", format_duration(c.handshake_timeout)},
    {"handshake_retries", c.handshake_retries},
    {"min_backoff", format_duration(c.min_backoff)},
    {"max_backoff", format_duration(c.max_backoff)},
    {"random_factor", c.random_factor}};
  if (cfg.tls)
    result["tls"] =
      boost::json::object{{"certificate", cfg.tls->certificate},
                          {"key", cfg.tls->key},
                          {"cafile", cfg.tls->cafile},
                          {"capath", cfg.tls->capath},
                          {"passphrase_env", cfg.tls->passphrase_env}};
  result["allow_remote_spawn"] = cfg.allow_remote_spawn;
  result["insecure_plaintext"] = cfg.insecure_plaintext;
  return result;
}

std::optional<config_error>
cluster_change_error(const std::optional<cluster_config>& in_force,
                     const std::optional<cluster_config>& proposed) {
  auto text = [](const std::optional<cluster_config>& x) {
    return x ? boost::json::serialize(to_json(*x)) : std::string{};
  };
  if (in_force.has_value() == proposed.has_value()
      && text(in_force) == text(proposed))
    return std::nullopt;
  return config_error{(json_path{} / "cluster").display(),
                      "changes need a restart"};
}

} // namespace bulwark
