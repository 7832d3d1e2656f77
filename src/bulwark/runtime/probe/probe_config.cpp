#include "bulwark/runtime/probe/probe_config.hpp"

#include <boost/json/array.hpp>
#include <fmt/format.h>

#include "bulwark/runtime/config/dependency_config.hpp"
#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

namespace {

bool is_dot_dot_segment(std::string_view path, std::size_t i) {
  // ".." starting at i, between '/' (or the end) on both sides.
  if (path.compare(i, 2, "..") != 0)
    return false;
  bool starts = i > 0 && path[i - 1] == '/';
  bool ends = i + 2 == path.size() || path[i + 2] == '/' || path[i + 2] == '?';
  return starts && ends;
}

} // namespace

std::string http_path_problem(std::string_view path) {
  if (path.empty() || path.front() != '/')
    return "must be an absolute path starting with '/' (no scheme, no host)";
  if (path.size() > probe_config::max_http_path_length)
    return fmt::format("must be at most {} bytes (got {})",
                       probe_config::max_http_path_length, path.size());
  if (path.size() > 1 && path[1] == '/')
    return "must not start with \"//\" (that names a host)";
  for (std::size_t i = 0; i < path.size(); ++i) {
    auto c = static_cast<unsigned char>(path[i]);
    // Positions only: the value itself may hold what a log must not get.
    if (c == '\r' || c == '\n')
      return fmt::format("must not contain CR or LF (at byte {})", i);
    if (c == ' ')
      return fmt::format("must not contain a space (at byte {})", i);
    if (c < 0x21 || c > 0x7e)
      return fmt::format("must be visible ASCII (byte {} is not)", i);
    if (c == '\\' || c == '#')
      return fmt::format("must not contain '{}' (at byte {})",
                         static_cast<char>(c), i);
    if (c == '%' && i + 2 < path.size() && path[i + 1] == '2'
        && (path[i + 2] == 'e' || path[i + 2] == 'E'))
      return fmt::format("must not contain a percent-encoded '.' (at byte {})",
                         i);
    if (c == '.' && is_dot_dot_segment(path, i))
      return fmt::format("must not contain a \"..\" segment (at byte {})", i);
  }
  return {};
}

probe_config parse_probe_config(const boost::json::value& v,
                                const json_path& at, error_list& errors) {
  probe_config cfg;
  object_reader r{v,
                  at,
                  errors,
                  {"enabled", "operation", "http_path", "interval", "timeout",
                   "unhealthy_threshold", "healthy_threshold", "failure_on"}};
  if (!r.valid())
    return cfg;
  r.read("enabled", cfg.enabled);
  if (auto* op = r.find("operation")) {
    auto* s = op->if_string();
    std::string_view name =
      s != nullptr ? std::string_view{s->data(), s->size()} : "";
    if (s == nullptr || !is_valid_name(name))
      errors.add(r.path("operation"),
                 "must be an operation name: 1 to 64 characters of A-Z, a-z, "
                 "0-9, '_', '-', '.'");
    else
      cfg.operation = std::string{name};
  }
  if (auto* p = r.find("http_path")) {
    auto* s = p->if_string();
    if (s == nullptr) {
      errors.add(r.path("http_path"),
                 fmt::format("must be a string (got: {})", describe_json(*p)));
    } else {
      std::string_view path{s->data(), s->size()};
      // The value is never quoted back: it may hold CR/LF or be huge.
      if (auto problem = http_path_problem(path); !problem.empty())
        errors.add(r.path("http_path"), std::move(problem));
      else
        cfg.http_path = std::string{path};
    }
  }
  r.read("interval", cfg.interval, milliseconds(100), hours(1));
  r.read("timeout", cfg.timeout, milliseconds(1), minutes(1));
  r.read("unhealthy_threshold", cfg.unhealthy_threshold, 1, 100);
  r.read("healthy_threshold", cfg.healthy_threshold, 1, 100);
  auto before = errors.size();
  auto failure_on = cfg.failure_on;
  r.read("failure_on", failure_on);
  if (errors.size() == before) {
    if (failure_on.contains(failure_class::cancelled))
      errors.add(r.path("failure_on"),
                 "\"cancelled\" cannot fail a probe: nobody cancels probes");
    else
      cfg.failure_on = failure_on;
  }
  // Cross-field rules, reported where they can be fixed.
  if (cfg.enabled) {
    if (cfg.operation.empty() && cfg.http_path.empty()
        && r.find("operation") == nullptr && r.find("http_path") == nullptr)
      errors.add(r.path("enabled"),
                 "a probe needs what to send: set \"operation\" (any "
                 "transport) or \"http_path\" (HTTP transports)");
    if (r.find("operation") != nullptr && r.find("http_path") != nullptr)
      errors.add(r.path("http_path"),
                 "set either \"operation\" or \"http_path\", not both");
  }
  if (cfg.timeout > cfg.interval)
    errors.add(r.path("timeout"),
               fmt::format("must not be longer than interval ({}) (got: {})",
                           format_duration(cfg.interval),
                           format_duration(cfg.timeout)));
  return cfg;
}

boost::json::object to_json(const probe_config& cfg) {
  boost::json::object obj;
  obj["enabled"] = cfg.enabled;
  if (!cfg.operation.empty())
    obj["operation"] = cfg.operation;
  if (!cfg.http_path.empty())
    obj["http_path"] = cfg.http_path;
  obj["interval"] = format_duration(cfg.interval);
  obj["timeout"] = format_duration(cfg.timeout);
  obj["unhealthy_threshold"] = cfg.unhealthy_threshold;
  obj["healthy_threshold"] = cfg.healthy_threshold;
  boost::json::array classes;
  for (auto cls : all_failure_classes)
    if (cfg.failure_on.contains(cls))
      classes.emplace_back(to_string(cls));
  obj["failure_on"] = std::move(classes);
  return obj;
}

} // namespace bulwark
