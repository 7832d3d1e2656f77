#include "bulwark/runtime/budget/budget_config.hpp"

#include <cmath>

#include <fmt/format.h>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/config/object_reader.hpp"

namespace bulwark {

std::string to_string(budget_mode x) {
  switch (x) {
    case budget_mode::finagle:
      return "finagle";
    case budget_mode::grpc:
      return "grpc";
    case budget_mode::unlimited:
      return "unlimited";
  }
  return "invalid";
}

std::string to_string(budget_use x) {
  switch (x) {
    case budget_use::retry:
      return "retry";
    case budget_use::hedge:
      return "hedge";
  }
  return "invalid";
}

namespace {

// gRPC keeps token amounts in thousandths of a token; a fourth decimal would
// be silently cut off there, so here it is an error instead.
void read_milli(object_reader& r, std::string_view key, double& out, double min,
                double max) {
  auto before = r.errors().size();
  double x = out;
  r.read(key, x, min, max);
  if (r.errors().size() != before || r.find(key) == nullptr)
    return;
  auto milli = x * 1000.0;
  if (std::fabs(milli - std::round(milli)) > 1e-6) {
    r.errors().add(r.path(key),
                   fmt::format("must have at most 3 decimal places (got: {})",
                               describe_json(*r.find(key))));
    return;
  }
  out = x;
}

// Whole numbers are written as integers so `bulwark-config defaults` shows
// `10`, not Boost.JSON's `1E1`.
boost::json::value json_number(double x) {
  if (std::isfinite(x) && std::floor(x) == x && std::fabs(x) < 9.0e15)
    return static_cast<std::int64_t>(x);
  return x;
}

void parse_finagle(const boost::json::value& v, const json_path& at,
                   error_list& errors, budget_config& cfg) {
  object_reader r{
    v, at, errors, {"ttl", "min_retries_per_second", "percent_can_retry"}};
  if (!r.valid())
    return;
  // Finagle requires ttl in [1s, 60s].
  r.read("ttl", cfg.ttl, seconds(1), seconds(60));
  r.read("min_retries_per_second", cfg.min_retries_per_second, 0.0, 100000.0);
  r.read_percent("percent_can_retry", cfg.percent_can_retry);
}

void parse_grpc(const boost::json::value& v, const json_path& at,
                error_list& errors, budget_config& cfg) {
  object_reader r{v, at, errors, {"max_tokens", "token_ratio"}};
  if (!r.valid())
    return;
  // gRFC A6: maxTokens in (0, 1000], tokenRatio > 0, both in thousandths.
  read_milli(r, "max_tokens", cfg.max_tokens, 0.001, 1000.0);
  read_milli(r, "token_ratio", cfg.token_ratio, 0.001, 1000.0);
}

} // namespace

budget_config parse_budget_config(const boost::json::value& v,
                                  const json_path& at, error_list& errors) {
  budget_config cfg;
  object_reader r{v, at, errors, {"mode", "finagle", "grpc"}};
  if (!r.valid())
    return cfg;
  r.read_enum(
    "mode", cfg.mode,
    {budget_mode::finagle, budget_mode::grpc, budget_mode::unlimited});
  if (auto* f = r.find("finagle"))
    parse_finagle(*f, r.path("finagle"), errors, cfg);
  if (auto* g = r.find("grpc"))
    parse_grpc(*g, r.path("grpc"), errors, cfg);
  return cfg;
}

boost::json::object to_json(const budget_config& cfg) {
  boost::json::object finagle;
  finagle["ttl"] = format_duration(cfg.ttl);
  finagle["min_retries_per_second"] = json_number(cfg.min_retries_per_second);
  finagle["percent_can_retry"] = json_number(cfg.percent_can_retry * 100.0);
  boost::json::object grpc;
  grpc["max_tokens"] = json_number(cfg.max_tokens);
  grpc["token_ratio"] = json_number(cfg.token_ratio);
  boost::json::object obj;
  obj["mode"] = to_string(cfg.mode);
  obj["finagle"] = std::move(finagle);
  obj["grpc"] = std::move(grpc);
  return obj;
}

} // namespace bulwark
