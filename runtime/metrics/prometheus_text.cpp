#include "runtime/metrics/prometheus_text.hpp"

#include <cmath>
#include <cstdint>
#include <initializer_list>

#include <fmt/format.h>

#include "runtime/breaker/breaker_state.hpp"
#include "runtime/core/failure_class.hpp"
#include "runtime/fallback/fallback_config.hpp"
#include "runtime/fallback/reply_source.hpp"
#include "runtime/metrics/latency_histogram.hpp"

namespace bulwark {

std::string escape_label_value(std::string_view value) {
  std::string result;
  result.reserve(value.size());
  for (auto c : value) {
    switch (c) {
      case '\\':
        result += "\\\\";
        break;
      case '"':
        result += "\\\"";
        break;
      case '\n':
        result += "\\n";
        break;
      default:
        result += c;
    }
  }
  return result;
}

std::string format_sample_value(double value) {
  if (std::isnan(value))
    return "NaN";
  if (std::isinf(value))
    return value > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", value);
}

namespace {

using label = std::pair<std::string_view, std::string_view>;

// A label name may hold [a-zA-Z_][a-zA-Z0-9_]* (and not start with "__").
std::string sanitize_label_name(std::string_view name) {
  std::string result;
  for (auto c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'
              || (c >= '0' && c <= '9' && !result.empty());
    result += ok ? c : '_';
  }
  if (result.empty())
    result = "component";
  while (result.size() > 1 && result[0] == '_' && result[1] == '_')
    result.erase(0, 1);
  return result;
}

// A stats value as sample text; anything missing or not a number is 0.
std::string value_text(const boost::json::value* v) {
  if (v == nullptr)
    return "0";
  if (v->is_uint64())
    return std::to_string(v->get_uint64());
  if (v->is_int64())
    return std::to_string(v->get_int64());
  if (v->is_double())
    return format_sample_value(v->get_double());
  return "0";
}

const boost::json::value* member(const boost::json::object& obj,
                                 std::string_view key) {
  return obj.if_contains(key);
}

// obj[outer][inner], or null.
const boost::json::value* member(const boost::json::object& obj,
                                 std::string_view outer,
                                 std::string_view inner) {
  auto* v = obj.if_contains(outer);
  if (v == nullptr || !v->is_object())
    return nullptr;
  return v->get_object().if_contains(inner);
}

struct prepared_source {
  std::string label;
  std::string value; // escaped
  const boost::json::object* stats;
};

class writer {
 public:
  explicit writer(const std::vector<metrics_source>& sources) {
    sources_.reserve(sources.size());
    for (auto& x : sources)
      sources_.push_back(prepared_source{sanitize_label_name(x.label),
                                         escape_label_value(x.name), &x.stats});
    out_.reserve(512 + sources.size() * 8192);
  }

  /// Writes HELP and TYPE of a family, then calls `per_source(stats)` for
  /// each source, which writes that source's samples with `sample`.
  template <class F>
  void family(std::string_view name, std::string_view type,
              std::string_view help, F per_source) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    out_ += help; // our own constants: no backslash, no line feed
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
    for (auto& src : sources_) {
      current_ = &src;
      per_source(*src.stats);
    }
    current_ = nullptr;
  }

  /// One sample of the current source: its own label first, then `labels`.
  void sample(std::string_view name, std::initializer_list<label> labels,
              std::string_view value) {
    out_ += name;
    out_ += '{';
    out_ += current_->label;
    out_ += "=\"";
    out_ += current_->value;
    out_ += '"';
    for (auto& [key, val] : labels) {
      out_ += ',';
      out_ += key;
      out_ += "=\"";
      out_ += escape_label_value(val);
      out_ += '"';
    }
    out_ += "} ";
    out_ += value;
    out_ += '\n';
  }

  /// A counter or gauge family fed from one key of each stats object.
  void simple(std::string_view name, std::string_view type,
              std::string_view help, std::string_view key) {
    family(name, type, help, [&](const boost::json::object& stats) {
      sample(name, {}, value_text(member(stats, key)));
    });
  }

  /// A counter family fed from one key of each stats object, written only
  /// for sources labelled `supervisor` (dependencies have no such counter,
  /// and a constant 0 per dependency would only add series).
  void supervisor_counter(std::string_view name, std::string_view help,
                          std::string_view key) {
    family(name, "counter", help, [&](const boost::json::object& stats) {
      if (current_->label == "supervisor")
        sample(name, {}, value_text(member(stats, key)));
    });
  }

  /// True while writing a source labelled `supervisor`.
  bool at_supervisor() const {
    return current_ != nullptr && current_->label == "supervisor";
  }

  /// A histogram family from a `to_json(latency_histogram)` member.
  void histogram(std::string_view name, std::string_view help,
                 std::string_view key) {
    family(name, "histogram", help, [&](const boost::json::object& stats) {
      latency_histogram h;
      if (auto* v = member(stats, key))
        if (!from_json(*v, h))
          h = latency_histogram{};
      std::string bucket_name{name};
      bucket_name += "_bucket";
      for (std::size_t i = 0; i < latency_histogram::bound_count; ++i) {
        auto le = format_sample_value(latency_histogram::bound_seconds(i));
        sample(bucket_name, {{"le", le}}, std::to_string(h.cumulative(i)));
      }
      sample(bucket_name, {{"le", "+Inf"}}, std::to_string(h.count()));
      sample(std::string{name} + "_sum", {}, format_sample_value(h.sum()));
      sample(std::string{name} + "_count", {}, std::to_string(h.count()));
    });
  }

  std::string take() {
    return std::move(out_);
  }

 private:
  std::vector<prepared_source> sources_;
  const prepared_source* current_ = nullptr;
  std::string out_;
};

} // namespace

std::string render_prometheus(const std::vector<metrics_source>& sources) {
  writer w{sources};
  using obj = boost::json::object;

  // -- requests and replies ---------------------------------------------------
  w.simple("bulwark_requests_total", "counter",
           "Calls received (logical requests, before admission).", "requests");
  w.simple("bulwark_invalid_requests_total", "counter",
           "Calls refused as malformed (empty operation, unknown criticality).",
           "invalid");
  w.family("bulwark_replies_total", "counter",
           "Replies sent, by outcome; successful ones by where the value came "
           "from.",
           [&](const obj& s) {
             // A supervisor reports its successes as `replies_ok` without a
             // source: they are its members' replies, so `live`.
             auto* ok_total = member(s, "replies_by_source") == nullptr
                                ? member(s, "replies_ok")
                                : nullptr;
             for (auto src : all_reply_sources) {
               auto name = to_string(src);
               auto* v = ok_total != nullptr
                           ? (src == reply_source::live ? ok_total : nullptr)
                           : member(s, "replies_by_source", name);
               w.sample("bulwark_replies_total",
                        {{"outcome", "ok"}, {"source", name}}, value_text(v));
             }
             w.sample("bulwark_replies_total", {{"outcome", "failed"}},
                      value_text(member(s, "replies_failed")));
           });
  w.family("bulwark_failures_total", "counter",
           "Failed replies by failure class.", [&](const obj& s) {
             for (auto cls : all_failure_classes) {
               auto name = to_string(cls);
               w.sample("bulwark_failures_total", {{"class", name}},
                        value_text(member(s, "failures_by_class", name)));
             }
           });
  w.simple("bulwark_in_flight", "gauge", "Calls received and not answered yet.",
           "in_flight");

  // -- attempts, retries, hedges ----------------------------------------------
  w.simple("bulwark_attempts_total", "counter",
           "Attempts sent to the transport, hedges included.", "attempts");
  w.family("bulwark_attempt_failures_total", "counter",
           "Failed attempts by failure class.", [&](const obj& s) {
             for (auto cls : all_failure_classes) {
               auto name = to_string(cls);
               w.sample(
                 "bulwark_attempt_failures_total", {{"class", name}},
                 value_text(member(s, "attempt_failures_by_class", name)));
             }
           });
  w.simple("bulwark_attempt_timeouts_total", "counter",
           "Attempts abandoned at their per-attempt timeout.",
           "attempt_timeouts");
  w.family("bulwark_retries_total", "counter",
           "Retries scheduled, by the failure class that caused them.",
           [&](const obj& s) {
             for (auto cls : all_failure_classes) {
               auto name = to_string(cls);
               w.sample("bulwark_retries_total", {{"reason", name}},
                        value_text(member(s, "retries_by_class", name)));
             }
           });
  w.simple("bulwark_retries_denied_total", "counter",
           "Retries the retry budget refused.", "retries_denied_budget");
  w.simple("bulwark_hedges_total", "counter", "Hedged attempts sent.",
           "hedges");
  w.simple("bulwark_hedges_won_total", "counter",
           "Calls answered by a hedged attempt rather than the first one.",
           "hedges_won");
  w.simple("bulwark_hedges_denied_total", "counter",
           "Hedges the retry budget refused.", "hedges_denied_budget");
  w.simple("bulwark_late_results_total", "counter",
           "Attempt results that arrived after their call no longer wanted "
           "them (losing hedges, timed-out attempts).",
           "late_results");

  // -- admission --------------------------------------------------------------
  w.family("bulwark_rejected_total", "counter",
           "Calls or attempts refused before reaching the dependency, by "
           "reason.",
           [&](const obj& s) {
             w.sample("bulwark_rejected_total", {{"reason", "breaker"}},
                      value_text(member(s, "rejected_breaker")));
             w.sample("bulwark_rejected_total", {{"reason", "bulkhead"}},
                      value_text(member(s, "rejected_bulkhead")));
             w.sample("bulwark_rejected_total", {{"reason", "shed"}},
                      value_text(member(s, "shed")));
             w.sample("bulwark_rejected_total", {{"reason", "queue_timeout"}},
                      value_text(member(s, "queue_timeouts")));
             if (!w.at_supervisor())
               w.sample("bulwark_rejected_total", {{"reason", "flag"}},
                        value_text(member(s, "rejected_flag")));
           });
  w.family(
    "bulwark_flag_actions_total", "counter",
    "What feature flags changed for calls: retries and hedges they "
    "switched off, calls they let past a disabled breaker.",
    [&](const obj& s) {
      if (w.at_supervisor())
        return;
      w.sample("bulwark_flag_actions_total", {{"action", "retry_suppressed"}},
               value_text(member(s, "retries_suppressed_flag")));
      w.sample("bulwark_flag_actions_total", {{"action", "hedge_suppressed"}},
               value_text(member(s, "hedges_suppressed_flag")));
      w.sample("bulwark_flag_actions_total", {{"action", "breaker_bypassed"}},
               value_text(member(s, "breaker_bypassed_flag")));
    });
  w.simple("bulwark_queued_total", "counter",
           "Calls that waited in the concurrency limit's queue.", "queued");

  // -- cache and fallback -----------------------------------------------------
  w.family("bulwark_cache_lookups_total", "counter", "Cache lookups by result.",
           [&](const obj& s) {
             w.sample("bulwark_cache_lookups_total", {{"result", "hit"}},
                      value_text(member(s, "cache_hits")));
             w.sample("bulwark_cache_lookups_total", {{"result", "stale"}},
                      value_text(member(s, "cache_stale_hits")));
             w.sample("bulwark_cache_lookups_total", {{"result", "miss"}},
                      value_text(member(s, "cache_misses")));
           });
  w.simple("bulwark_cache_revalidations_total", "counter",
           "Background refreshes of stale cache entries.", "revalidations");
  w.family("bulwark_fallbacks_total", "counter",
           "Fallback steps taken, by kind.", [&](const obj& s) {
             struct row {
               fallback_kind kind;
               std::string_view key;
             };
             for (auto& [kind, key] :
                  {row{fallback_kind::stale_cache, "fallbacks_stale"},
                   row{fallback_kind::static_value, "fallbacks_static"},
                   row{fallback_kind::alternate, "fallbacks_alternate"},
                   row{fallback_kind::fail_fast, "fallbacks_fail_fast"}})
               w.sample("bulwark_fallbacks_total", {{"kind", to_string(kind)}},
                        value_text(member(s, key)));
           });

  // -- breaker and health -----------------------------------------------------
  w.family("bulwark_breaker_state", "gauge",
           "1 for the circuit breaker's current state, 0 for the others.",
           [&](const obj& s) {
             std::string_view current;
             if (auto* v = member(s, "breaker_state"); v && v->is_string())
               current = v->get_string();
             for (auto st : all_breaker_states) {
               auto name = to_string(st);
               w.sample("bulwark_breaker_state", {{"state", name}},
                        name == current ? "1" : "0");
             }
           });
  w.simple("bulwark_breaker_transitions_total", "counter",
           "Circuit breaker state changes.", "breaker_transitions");
  w.simple("bulwark_ejections_total", "counter",
           "Members ejected as outliers (supervisors; 0 for dependencies).",
           "ejections");
  w.simple("bulwark_transport_downs_total", "counter",
           "Times the transport actor went down.", "transport_downs");

  // -- supervisors (samples for `supervisor` sources only) ----------------------
  w.supervisor_counter("bulwark_failovers_total",
                       "Calls rerouted to another member after a failure.",
                       "failovers");
  w.supervisor_counter("bulwark_failovers_denied_total",
                       "Failovers the retry budget refused.",
                       "failovers_denied_budget");
  w.supervisor_counter("bulwark_cancels_total",
                       "Attempts cancelled on a member (losing hedges).",
                       "cancels");
  w.supervisor_counter("bulwark_no_member_total",
                       "Calls failed because no member could take them.",
                       "no_member");
  w.supervisor_counter("bulwark_deadline_exceeded_total",
                       "Calls failed at their deadline inside the supervisor.",
                       "deadline_exceeded");
  w.supervisor_counter("bulwark_readmissions_total",
                       "Ejected members taken back into rotation.",
                       "readmissions");
  w.supervisor_counter("bulwark_probes_total",
                       "Probe calls sent to ejected members.", "probes");
  w.supervisor_counter("bulwark_member_crashes_total",
                       "Member actors that went down.", "member_crashes");
  w.supervisor_counter("bulwark_restarts_total",
                       "Members restarted after a crash.", "restarts");
  w.supervisor_counter("bulwark_escalations_total",
                       "Times the restart intensity was exceeded and the "
                       "supervisor escalated.",
                       "escalations");
  w.family("bulwark_members", "gauge",
           "Members of a supervisor by state: running, and by health "
           "(healthy, ejected, probing).",
           [&](const obj& s) {
             if (!w.at_supervisor())
               return;
             std::uint64_t running = 0;
             std::uint64_t by_health[3] = {0, 0, 0};
             static constexpr std::string_view health_names[3] = {
               "healthy", "ejected", "probing"};
             if (auto* v = member(s, "members"); v && v->is_array())
               for (auto& m : v->get_array()) {
                 if (!m.is_object())
                   continue;
                 auto& mo = m.get_object();
                 if (auto* r = mo.if_contains("running");
                     r && r->is_bool() && r->get_bool())
                   ++running;
                 if (auto* h = mo.if_contains("health"); h && h->is_string())
                   for (int i = 0; i < 3; ++i)
                     if (h->get_string() == health_names[i])
                       ++by_health[i];
               }
             w.sample("bulwark_members", {{"state", "running"}},
                      std::to_string(running));
             for (int i = 0; i < 3; ++i)
               w.sample("bulwark_members", {{"state", health_names[i]}},
                        std::to_string(by_health[i]));
           });
  w.family("bulwark_config_reloads_total", "counter",
           "Configuration documents received, by result.", [&](const obj& s) {
             w.sample("bulwark_config_reloads_total", {{"result", "applied"}},
                      value_text(member(s, "config_applied")));
             w.sample("bulwark_config_reloads_total", {{"result", "rejected"}},
                      value_text(member(s, "config_rejected")));
           });

  // -- latency ----------------------------------------------------------------
  w.histogram("bulwark_request_duration_seconds",
              "Time from receiving a call to sending its reply.",
              "request_latency");
  w.histogram("bulwark_attempt_duration_seconds",
              "Time from sending an attempt to its result or timeout.",
              "attempt_latency");
  return w.take();
}

std::string render_prometheus(
  const std::vector<std::pair<std::string, boost::json::object>>& deps,
  std::string_view component) {
  std::vector<metrics_source> sources;
  sources.reserve(deps.size());
  for (auto& [name, stats] : deps)
    sources.push_back(metrics_source{std::string{component}, name, stats});
  return render_prometheus(sources);
}

} // namespace bulwark
