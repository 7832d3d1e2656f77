#include "runtime/config/dependency_config.hpp"

#include "runtime/config/duration_text.hpp"
#include "runtime/config/object_reader.hpp"

namespace bulwark {

idempotency dependency_config::idempotency_of(std::string_view op) const noexcept {
  for (auto& x : operations)
    if (x.name == op)
      return x.repeat;
  return repeat;
}

bool is_valid_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > dependency_config::max_name_length)
    return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!ok)
      return false;
  }
  return true;
}

namespace {

constexpr std::initializer_list<idempotency> all_idempotency = {
  idempotency::idempotent, idempotency::keyed, idempotency::unsafe};

} // namespace

dependency_config parse_dependency_config(const boost::json::value& v,
                                          const json_path& at, std::string name,
                                          error_list& errors) {
  dependency_config cfg;
  cfg.name = std::move(name);
  object_reader r{v, at, errors, {"idempotency", "default_timeout", "operations"}};
  r.read_enum("idempotency", cfg.repeat, all_idempotency);
  r.read("default_timeout", cfg.default_timeout, milliseconds(1), hours(24));
  if (auto* ops = r.find("operations")) {
    auto ops_at = r.path("operations");
    if (auto* obj = ops->if_object()) {
      for (auto& member : *obj) {
        auto op_at = ops_at / member.key();
        std::string_view op_name{member.key().data(), member.key().size()};
        if (!is_valid_name(op_name)) {
          errors.add(op_at, "operation names must be 1 to 64 characters of "
                            "A-Z, a-z, 0-9, '_', '-', '.'");
          continue;
        }
        operation_config op;
        op.name = std::string{op_name};
        op.repeat = cfg.repeat;
        object_reader opr{member.value(), op_at, errors, {"idempotency"}};
        opr.read_enum("idempotency", op.repeat, all_idempotency);
        cfg.operations.push_back(std::move(op));
      }
    } else {
      errors.add(ops_at, fmt::format("must be an object mapping operation "
                                     "names to settings (got: {})",
                                     describe_json(*ops)));
    }
  }
  return cfg;
}

boost::json::object to_json(const dependency_config& cfg) {
  boost::json::object result;
  result["idempotency"] = to_string(cfg.repeat);
  result["default_timeout"] = format_duration(cfg.default_timeout);
  boost::json::object ops;
  for (auto& op : cfg.operations)
    ops[op.name] = boost::json::object{{"idempotency", to_string(op.repeat)}};
  result["operations"] = std::move(ops);
  return result;
}

} // namespace bulwark
