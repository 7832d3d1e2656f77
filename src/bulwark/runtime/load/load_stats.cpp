#include "bulwark/runtime/load/load_stats.hpp"

namespace bulwark {

std::string to_string(request_end x) {
  switch (x) {
    case request_end::ok:
      return "ok";
    case request_end::client_error:
      return "client_error";
    case request_end::server_error:
      return "server_error";
    case request_end::transport_error:
      return "transport_error";
    case request_end::unfinished:
      return "unfinished";
  }
  return "invalid";
}

request_end end_of_status(int status) noexcept {
  if (status >= 100 && status < 400)
    return request_end::ok;
  if (status >= 400 && status < 500)
    return request_end::client_error;
  return request_end::server_error;
}

std::uint64_t load_stats::finished() const noexcept {
  std::uint64_t total = 0;
  for (auto n : ends)
    total += n;
  return total;
}

double load_stats::error_ratio() const noexcept {
  auto total = finished();
  if (total == 0)
    return 0.0;
  return static_cast<double>(total - count(request_end::ok))
         / static_cast<double>(total);
}

void load_stats::merge(const load_stats& other) noexcept {
  latency.merge(other.latency);
  sent += other.sent;
  for (std::size_t i = 0; i < ends.size(); ++i)
    ends[i] += other.ends[i];
  for (auto& [status, n] : other.statuses)
    statuses[status] += n;
}

namespace {

double ms(std::int64_t ns) {
  return static_cast<double>(ns) / 1e6;
}

double rate_of(const load_stats& s, duration elapsed) {
  auto secs = to_seconds(elapsed);
  return secs > 0.0 ? static_cast<double>(s.finished()) / secs : 0.0;
}

boost::json::value ratio(double b, double a) {
  if (a == 0.0)
    return nullptr;
  return b / a;
}

} // namespace

boost::json::object to_json(const load_stats& stats, duration elapsed) {
  boost::json::object out;
  out["requests"] = stats.finished();
  out["sent"] = stats.sent;
  for (std::size_t i = 0; i < request_end_count; ++i)
    out[to_string(static_cast<request_end>(i))] = stats.ends[i];
  boost::json::object statuses;
  for (auto& [status, n] : stats.statuses)
    statuses[std::to_string(status)] = n;
  out["statuses"] = std::move(statuses);
  out["rate_per_s"] = rate_of(stats, elapsed);
  out["error_ratio"] = stats.error_ratio();
  auto& h = stats.latency;
  out["p50_ms"] = ms(h.value_at_quantile(0.5));
  out["p75_ms"] = ms(h.value_at_quantile(0.75));
  out["p90_ms"] = ms(h.value_at_quantile(0.9));
  out["p99_ms"] = ms(h.value_at_quantile(0.99));
  out["p99_9_ms"] = ms(h.value_at_quantile(0.999));
  out["p99_99_ms"] = ms(h.value_at_quantile(0.9999));
  out["max_ms"] = ms(h.max());
  out["mean_ms"] = h.mean() / 1e6;
  return out;
}

boost::json::object ab_ratios(const load_stats& a, duration a_elapsed,
                              const load_stats& b, duration b_elapsed) {
  boost::json::object out;
  auto q = [](const load_stats& s, double x) {
    return static_cast<double>(s.latency.value_at_quantile(x));
  };
  out["p50_ratio"] = ratio(q(b, 0.5), q(a, 0.5));
  out["p99_ratio"] = ratio(q(b, 0.99), q(a, 0.99));
  out["p99_9_ratio"] = ratio(q(b, 0.999), q(a, 0.999));
  out["mean_ratio"] = ratio(b.latency.mean(), a.latency.mean());
  out["rate_ratio"] = ratio(rate_of(b, b_elapsed), rate_of(a, a_elapsed));
  out["error_ratio_ratio"] = ratio(b.error_ratio(), a.error_ratio());
  return out;
}

} // namespace bulwark
