#include "bulwark/runtime/flags/feature_flags.hpp"

#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

std::string to_string(breaker_flag x) {
  switch (x) {
    case breaker_flag::normal:
      return "normal";
    case breaker_flag::force_open:
      return "force_open";
    case breaker_flag::disabled:
      return "disabled";
  }
  return "invalid";
}

std::string to_string(flag_kind x) {
  switch (x) {
    case flag_kind::retry:
      return "retry";
    case flag_kind::hedging:
      return "hedging";
    case flag_kind::breaker:
      return "breaker";
  }
  return "invalid";
}

bool operator==(const dependency_flags_config& a,
                const dependency_flags_config& b) noexcept {
  return a.retry == b.retry && a.retry_rollout == b.retry_rollout
         && a.hedging == b.hedging && a.hedging_rollout == b.hedging_rollout
         && a.breaker == b.breaker && a.breaker_rollout == b.breaker_rollout;
}

bool is_default(const dependency_flags_config& cfg) noexcept {
  // A non-default value with a 0% rollout changes nothing either.
  return (cfg.retry || cfg.retry_rollout <= 0.0)
         && (cfg.hedging || cfg.hedging_rollout <= 0.0)
         && (cfg.breaker == breaker_flag::normal || cfg.breaker_rollout <= 0.0);
}

const dependency_flags_config& flags_for(const feature_flags_config& cfg,
                                         std::string_view name) {
  auto it = cfg.dependencies.find(std::string{name});
  return it == cfg.dependencies.end() ? cfg.defaults : it->second;
}

namespace {

std::uint64_t mix(std::uint64_t z) noexcept {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Arbitrary distinct constants: one rollout's calls are not the other's.
constexpr std::uint64_t salts[] = {0x72657472790000a1ULL, 0x6865646765000b2ULL,
                                   0x627265616b65c3ULL};

} // namespace

std::uint64_t flag_hash(std::string_view idempotency_key,
                        std::uint64_t call_id) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL; // FNV-1a 64 offset basis
  if (idempotency_key.empty()) {
    for (int i = 0; i < 8; ++i) {
      h ^= (call_id >> (8 * i)) & 0xff;
      h *= 0x100000001b3ULL;
    }
    h ^= 1; // an id never hashes like the same bytes as a key
  } else {
    for (auto c : idempotency_key) {
      h ^= static_cast<unsigned char>(c);
      h *= 0x100000001b3ULL;
    }
  }
  return mix(h);
}

bool in_rollout(std::uint64_t hash, flag_kind kind, double rollout) noexcept {
  if (rollout >= 1.0)
    return true;
  if (rollout <= 0.0)
    return false;
  auto bucket = mix(hash ^ salts[static_cast<int>(kind)]) % 10000;
  return static_cast<double>(bucket) < rollout * 10000.0;
}

call_flags decide_flags(const dependency_flags_config& cfg,
                        std::uint64_t hash) noexcept {
  call_flags out;
  if (!cfg.retry && in_rollout(hash, flag_kind::retry, cfg.retry_rollout))
    out.retry = false;
  if (!cfg.hedging && in_rollout(hash, flag_kind::hedging, cfg.hedging_rollout))
    out.hedging = false;
  if (cfg.breaker != breaker_flag::normal
      && in_rollout(hash, flag_kind::breaker, cfg.breaker_rollout))
    out.breaker = cfg.breaker;
  return out;
}

namespace {

void read_switch(object_reader& parent, std::string_view key, bool& enabled,
                 double& rollout) {
  auto* v = parent.find(key);
  if (v == nullptr)
    return;
  object_reader r{
    *v, parent.path(key), parent.errors(), {"enabled", "rollout"}};
  if (!r.valid())
    return;
  r.read("enabled", enabled);
  r.read_percent("rollout", rollout);
}

boost::json::object switch_json(bool enabled, double rollout) {
  return boost::json::object{{"enabled", enabled},
                             {"rollout", rollout * 100.0}};
}

} // namespace

dependency_flags_config
parse_dependency_flags_config(const boost::json::value& v, const json_path& at,
                              error_list& errors) {
  dependency_flags_config cfg;
  object_reader r{v, at, errors, {"retry", "hedging", "breaker"}};
  if (!r.valid())
    return cfg;
  read_switch(r, "retry", cfg.retry, cfg.retry_rollout);
  read_switch(r, "hedging", cfg.hedging, cfg.hedging_rollout);
  if (auto* b = r.find("breaker")) {
    object_reader br{*b, r.path("breaker"), errors, {"mode", "rollout"}};
    if (br.valid()) {
      br.read_enum("mode", cfg.breaker,
                   {breaker_flag::normal, breaker_flag::force_open,
                    breaker_flag::disabled});
      br.read_percent("rollout", cfg.breaker_rollout);
    }
  }
  return cfg;
}

boost::json::object to_json(const dependency_flags_config& cfg) {
  return boost::json::object{
    {"retry", switch_json(cfg.retry, cfg.retry_rollout)},
    {"hedging", switch_json(cfg.hedging, cfg.hedging_rollout)},
    {"breaker", boost::json::object{{"mode", to_string(cfg.breaker)},
                                    {"rollout", cfg.breaker_rollout * 100.0}}}};
}

feature_flags_config parse_feature_flags_config(const boost::json::value& v,
                                                const json_path& at,
                                                error_list& errors) {
  feature_flags_config cfg;
  if (!v.is_object()) {
    errors.add(at, "must be an object keyed by dependency name, \"*\" for "
                   "the default (got: "
                     + describe_json(v) + ")");
    return cfg;
  }
  for (auto& [key, value] : v.get_object()) {
    std::string_view name{key.data(), key.size()};
    if (name.empty()) {
      errors.add(at / name, "a dependency name must not be empty");
      continue;
    }
    auto flags = parse_dependency_flags_config(value, at / name, errors);
    if (name == "*")
      cfg.defaults = flags;
    else
      cfg.dependencies[std::string{name}] = flags;
  }
  return cfg;
}

boost::json::object to_json(const feature_flags_config& cfg) {
  boost::json::object out;
  out["*"] = to_json(cfg.defaults);
  for (auto& [name, flags] : cfg.dependencies)
    out[name] = to_json(flags);
  return out;
}

} // namespace bulwark
