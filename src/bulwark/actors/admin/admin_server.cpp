#include "bulwark/actors/admin/admin_server.hpp"

#include "bulwark/runtime/cluster/cluster_config.hpp"

#include "bulwark/actors/admin/dashboard_page.hpp"
#include "bulwark/actors/admin/trace_peers.hpp"
#include "bulwark/actors/http/http_server.hpp"
#include "bulwark/runtime/config/json_pretty.hpp"
#include "bulwark/runtime/config/object_reader.hpp"
#include "bulwark/runtime/core/trace_context.hpp"
#include "bulwark/runtime/journey/trace_tree.hpp"
#include "bulwark/runtime/metrics/prometheus_text.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <caf/actor_system.hpp>
#include <caf/all.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include <charconv>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string_view>

namespace bulwark::detail {

/// One HTTP request on its way to the admin actor. It carries a responder
/// (a handle into the HTTP server), so it never leaves the process.
struct admin_job {
  http_request req;
  http_responder respond;
};

} // namespace bulwark::detail

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(bulwark::detail::admin_job)

namespace bulwark {

namespace {

namespace http = boost::beast::http;
using detail::admin_job;

/// A control request waiting for its turn: a configuration PUT, or a flags
/// change (`name` decoded from the path, `remove` for DELETE).
struct queued_change {
  admin_job job;
  bool flags = false;
  bool remove = false;
  std::string name;
};

struct admin_state {
  bulwark_config current;
  /// The feature flags; kept apart from `current`, so a configuration PUT
  /// neither shows nor resets them.
  feature_flags_config flags;
  std::map<std::string, dependency_actor> deps;
  std::string token;
  bool check_token = false;
  std::chrono::milliseconds ask_timeout{1'000};
  std::chrono::milliseconds apply_timeout{5'000};
  metrics_renderer render_metrics;
  std::map<std::string, supervisor_actor> supervisors;
  /// Where the live incarnations are looked up (null: `deps` and
  /// `supervisors` are fixed).
  service_registry_ptr registry;
  /// Configuration and flags changes run one at a time, in arrival order:
  /// two changes interleaving their sends (or one's rollback overtaking the
  /// other's apply) would leave actors on different settings than shown.
  bool applying = false;
  std::deque<queued_change> waiting_puts;
  /// The admin servers `GET /traces/<id>/tree` asks (validated at start).
  std::vector<trace_peer> trace_peers;
  /// How this process is named in an assembled trace: host:port once the
  /// server is bound.
  std::string trace_label = "this process";
  /// Tree assemblies in flight (each may hold a worker thread for 2 s).
  std::size_t tree_workers = 0;

  static inline const char* name = "bulwark.admin";
};

using admin_self = caf::stateful_actor<admin_state>*;

/// Tells the admin actor its server's host:port once bound.
using trace_label_atom = caf::atom_constant<caf::atom("tracelabel")>;

/// A tree assembly's worker is done.
using tree_done_atom = caf::atom_constant<caf::atom("treedone")>;

// -- answers -------------------------------------------------------------------

void answer(const admin_job& job, http_status status, boost::json::value body) {
  job.respond.respond(json_response(status, boost::json::serialize(body)));
}

/// For bodies people read: indented, and numbers in their shortest form
/// (a 100 % rollout shows as `100`, not Boost's `1E2`).
void answer_pretty(const admin_job& job, http_status status,
                   const boost::json::value& body) {
  job.respond.respond(json_response(status, pretty_json(body)));
}

void answer_error(const admin_job& job, http_status status,
                  std::string_view message) {
  job.respond.respond(json_error(status, message));
}

void answer_errors(const admin_job& job, http_status status,
                   std::string message,
                   const std::vector<std::string>& errors) {
  boost::json::array list;
  for (auto& e : errors)
    list.emplace_back(e);
  answer(job, status,
         boost::json::object{{"error", std::move(message)},
                             {"errors", std::move(list)}});
}

// -- asking every dependency ---------------------------------------------------

template <class Reply>
struct dep_answer {
  std::string name;
  std::optional<Reply> value;
  /// Why there is no value.
  std::string error;
  /// The actor is not running (it was never asked anything it could answer).
  bool down = false;
};

template <class Reply>
using answers_handler = std::function<void(std::vector<dep_answer<Reply>>&)>;

template <class Reply>
struct gathering {
  std::vector<dep_answer<Reply>> answers;
  std::size_t pending = 0;
  answers_handler<Reply> done;

  void one_done() {
    if (--pending == 0)
      done(answers);
  }
};

std::string describe_failure(admin_self self, const caf::error& err,
                             std::chrono::milliseconds timeout) {
  if (err == caf::sec::request_timeout)
    return "did not answer within " + std::to_string(timeout.count()) + "ms";
  if (err == caf::sec::request_receiver_down)
    return "is not running";
  return "failed: " + self->system().render(err);
}

/// Sends `xs...` to every actor of `actors` (name -> handle) and calls
/// `done` once all answered, failed or timed out (each answer in name order).
template <class Atom, class Reply, class Map, class... Ts>
void ask_each(admin_self self, const Map& actors,
              std::chrono::milliseconds timeout, answers_handler<Reply> done,
              const Ts&... xs) {
  auto g = std::make_shared<gathering<Reply>>();
  g->answers.resize(actors.size());
  g->pending = actors.size();
  g->done = std::move(done);
  if (g->pending == 0) {
    g->done(g->answers);
    return;
  }
  std::size_t i = 0;
  for (auto& [name, dep] : actors) {
    g->answers[i].name = name;
    self->request(dep, timeout, xs...)
      .then(
        [g, i](Atom, Reply& r) {
          g->answers[i].value = std::move(r);
          g->one_done();
        },
        [g, i, self, timeout](caf::error& err) {
          g->answers[i].down = err == caf::sec::request_receiver_down;
          g->answers[i].error = describe_failure(self, err, timeout);
          g->one_done();
        });
    ++i;
  }
}

/// ask_each over the dependency actors.
template <class Atom, class Reply, class... Ts>
void ask_all(admin_self self, std::chrono::milliseconds timeout,
             answers_handler<Reply> done, const Ts&... xs) {
  ask_each<Atom, Reply>(self, self->state.deps, timeout, std::move(done),
                        xs...);
}

// -- endpoints -----------------------------------------------------------------

bool is_true(std::string_view v) {
  return v == "1" || v == "true" || v == "yes";
}

/// Value of query parameter `key`, or nullopt.
std::optional<std::string_view> query_param(std::string_view query,
                                            std::string_view key) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    auto eq = part.find('=');
    if (part.substr(0, eq) == key)
      return eq == std::string_view::npos ? std::string_view{}
                                          : part.substr(eq + 1);
    if (amp == std::string_view::npos)
      break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

/// Compares without an early exit, so response times do not leak how much
/// of a guessed token was right.
bool same_secret(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

/// False (and answers 401) when a control request lacks the right token.
bool authorized(admin_self self, const admin_job& job) {
  auto& st = self->state;
  if (!st.check_token)
    return true;
  auto header = job.req[http::field::authorization];
  constexpr std::string_view scheme = "Bearer ";
  std::string_view message;
  if (header.empty())
    message = "missing bearer token: control endpoints need "
              "'Authorization: Bearer <token>'";
  else if (header.size() <= scheme.size()
           || !boost::beast::iequals(header.substr(0, scheme.size()), scheme))
    message = "the Authorization header is not 'Bearer <token>'";
  else if (!same_secret(header.substr(scheme.size()), st.token))
    message = "invalid bearer token";
  else
    return true;
  auto res = json_error(http_status::unauthorized, message);
  res.set(http::field::www_authenticate, "Bearer realm=\"bulwark-admin\"");
  job.respond.respond(std::move(res));
  return false;
}

void get_healthz(const admin_job& job) {
  answer(job, http_status::ok, boost::json::object{{"status", "alive"}});
}

void get_readyz(admin_self self, admin_job job) {
  ask_all<stats_atom, dependency_stats>(
    self, self->state.ask_timeout,
    [job](std::vector<dep_answer<dependency_stats>>& answers) {
      boost::json::object deps;
      std::vector<std::string> problems;
      for (auto& a : answers) {
        if (a.value) {
          deps[a.name] = "ready";
        } else {
          deps[a.name] = a.error;
          problems.push_back("dependency \"" + a.name + "\" " + a.error);
        }
      }
      if (problems.empty()) {
        answer(job, http_status::ok,
               boost::json::object{{"status", "ready"},
                                   {"dependencies", std::move(deps)}});
        return;
      }
      std::string message = "not ready: ";
      for (std::size_t i = 0; i < problems.size(); ++i)
        message += (i > 0 ? "; " : "") + problems[i];
      answer(job, http_status::service_unavailable,
             boost::json::object{{"error", std::move(message)},
                                 {"dependencies", std::move(deps)}});
    },
    stats_atom::value);
}

/// An actor's JSON answer as a value, or `fallback` when it is not JSON.
boost::json::value parsed_or(const std::string& text,
                             boost::json::value fallback) {
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec);
  return ec ? std::move(fallback) : std::move(v);
}

/// The stats of the actors that answered, in name order (a silent actor
/// has no series in this scrape).
template <class Stats>
std::vector<std::pair<std::string, Stats>>
answered_stats(std::vector<dep_answer<Stats>>& answers) {
  std::vector<std::pair<std::string, Stats>> stats;
  for (auto& a : answers)
    if (a.value)
      stats.emplace_back(a.name, std::move(*a.value));
  return stats;
}

void get_metrics(admin_self self, admin_job job) {
  auto render = self->state.render_metrics;
  auto registry = self->state.registry;
  ask_all<stats_atom, dependency_stats>(
    self, self->state.ask_timeout,
    [self, job, render,
     registry](std::vector<dep_answer<dependency_stats>>& answers) {
      auto deps =
        std::make_shared<std::vector<std::pair<std::string, dependency_stats>>>(
          answered_stats(answers));
      auto finish = [job, render, deps, registry](
                      std::vector<dep_answer<supervisor_stats>>& sup_answers) {
        std::string text;
        try {
          if (render) {
            text = render(*deps);
          } else {
            // One render for everything: a family must appear once.
            std::vector<metrics_source> sources;
            for (auto& [name, stats] : *deps)
              sources.push_back(
                metrics_source{"dependency", name, std::move(stats)});
            for (auto& [name, stats] : answered_stats(sup_answers))
              sources.push_back(
                metrics_source{"supervisor", name, std::move(stats)});
            // HTTP services attached to a host: counters read in place.
            if (registry) {
              for (auto& [name, stats] : registry->http_services())
                sources.push_back(metrics_source{"service", name, stats});
              // What the host restarts itself, so giving up is visible.
              for (auto& a : registry->host_actors()) {
                metrics_source src{"actor", a.name, a.stats};
                src.extra_label = "kind";
                src.extra_value = a.kind;
                sources.push_back(std::move(src));
              }
            }
            text = render_prometheus(sources);
          }
        } catch (const std::exception& e) {
          answer_error(job, http_status::internal_server_error,
                       std::string{"rendering metrics failed: "} + e.what());
          return;
        }
        job.respond.respond(http_status::ok, prometheus_content_type,
                            std::move(text));
      };
      if (render) {
        std::vector<dep_answer<supervisor_stats>> none;
        finish(none);
        return;
      }
      ask_each<stats_atom, supervisor_stats>(
        self, self->state.supervisors, self->state.ask_timeout,
        std::move(finish), stats_atom::value);
    },
    stats_atom::value);
}

void get_config(admin_self self, const admin_job& job) {
  auto res =
    json_response(http_status::ok, pretty_json(to_json(self->state.current)));
  job.respond.respond(std::move(res));
}

void apply_next_put(admin_self self);

/// What the actors answered to one change (a document or flags): who
/// applied it, who is not running (nothing to change there), and every
/// error; `rejected` when an actor refused it rather than failed to answer.
struct change_tally {
  boost::json::array applied;
  boost::json::array not_running;
  std::vector<std::string> errors;
  bool rejected = false;
};

change_tally
tally(const std::vector<dep_answer<std::vector<std::string>>>& answers,
      std::string_view kind = "dependency", change_tally t = {}) {
  for (auto& a : answers) {
    if (a.value && a.value->empty()) {
      t.applied.emplace_back(a.name);
    } else if (a.value) {
      t.rejected = true;
      for (auto& e : *a.value)
        t.errors.push_back(std::string{kind} + " \"" + a.name + "\": " + e);
    } else if (a.down) {
      t.not_running.emplace_back(a.name);
    } else {
      t.errors.push_back(std::string{kind} + " \"" + a.name + "\" " + a.error);
    }
  }
  return t;
}

/// True when the actor took, or may still take, a change that failed
/// elsewhere, so it must be put back: messages arrive in order, so a late
/// apply is undone as well.
bool needs_rollback(const dep_answer<std::vector<std::string>>& a) {
  return !a.down && (!a.value || a.value->empty());
}

/// Re-reads the live incarnations from the registry (when there is one):
/// every endpoint addresses the actors that run now.
void refresh(admin_self self) {
  auto& st = self->state;
  if (!st.registry)
    return;
  st.deps = st.registry->dependencies();
  st.supervisors = st.registry->supervisors();
}

/// The live handles when a change started.
struct handles {
  std::map<std::string, dependency_actor> deps;
  std::map<std::string, supervisor_actor> supervisors;
};

/// An actor restarted while a change was applied may have started from the
/// previous document: it gets the new one too.
void catch_up(admin_self self, const handles& before,
              const config_update& next) {
  refresh(self);
  auto resend = [&](auto& now, auto& then) {
    for (auto& [name, x] : now) {
      auto i = then.find(name);
      if (i == then.end() || i->second != x)
        caf::anon_send(x, config_atom::value, next);
    }
  };
  resend(self->state.deps, before.deps);
  resend(self->state.supervisors, before.supervisors);
}

void finish_put(admin_self self) {
  self->state.applying = false;
  apply_next_put(self);
}

void apply_put(admin_self self, admin_job job) {
  auto& st = self->state;
  auto parsed = parse_bulwark_config(job.req.body());
  if (!parsed.ok()) {
    auto errors = parsed.errors.lines();
    answer_errors(job, http_status::bad_request,
                  "configuration rejected ("
                    + std::to_string(parsed.errors.size())
                    + (parsed.errors.size() == 1 ? " error" : " errors")
                    + "); nothing changed",
                  errors);
    finish_put(self);
    return;
  }
  // A running dependency actor refuses a document without its entry;
  // checking here keeps the change all-or-nothing.
  std::vector<std::string> missing;
  for (auto& [name, dep] : st.deps)
    if (parsed.config->find(name) == nullptr)
      missing.push_back("/dependencies/" + name
                        + ": is required (a running dependency actor serves \""
                        + name + "\")");
  for (auto& [name, sup] : st.supervisors)
    if (parsed.config->find_supervisor(name) == nullptr)
      missing.push_back("/supervisors/" + name
                        + ": is required (a running supervisor serves \"" + name
                        + "\")");
  // CAF reads heartbeat, address and TLS settings once, at start.
  if (auto err =
        cluster_change_error(st.current.cluster, parsed.config->cluster))
    missing.push_back(err->to_string());
  if (!missing.empty()) {
    answer_errors(job, http_status::bad_request,
                  "configuration rejected (" + std::to_string(missing.size())
                    + (missing.size() == 1 ? " error" : " errors")
                    + "); nothing changed",
                  missing);
    finish_put(self);
    return;
  }
  // Parsed once, here: every actor gets the same immutable value.
  config_update next{
    std::make_shared<const bulwark_config>(std::move(*parsed.config))};
  config_update previous{std::make_shared<const bulwark_config>(st.current)};
  // The dependencies first, then the supervisors; all or nothing across
  // both. A supervisor starts members it adds from the document it applies.
  using answers = std::vector<dep_answer<std::vector<std::string>>>;
  handles before{st.deps, st.supervisors};
  ask_all<config_atom, std::vector<std::string>>(
    self, st.apply_timeout,
    [self, job, next, previous, before](answers& dep_answers) {
      auto& st = self->state;
      auto deps = std::make_shared<answers>(std::move(dep_answers));
      // Refused already: the supervisors are not bothered (none answers).
      static const std::map<std::string, supervisor_actor> none;
      auto& sups = tally(*deps).errors.empty() ? st.supervisors : none;
      ask_each<config_atom, std::vector<std::string>>(
        self, sups, st.apply_timeout,
        [self, job, next, previous, before, deps](answers& sup_answers) {
          auto& st = self->state;
          auto t = tally(sup_answers, "supervisor", tally(*deps));
          if (t.errors.empty()) {
            st.current = *next.config;
            if (st.registry) {
              st.registry->set_document(next.config);
              catch_up(self, before, next);
            }
            answer(
              job, http_status::ok,
              boost::json::object{{"status", "applied"},
                                  {"applied", std::move(t.applied)},
                                  {"not_running", std::move(t.not_running)}});
            finish_put(self);
            return;
          }
          for (auto& a : *deps)
            if (needs_rollback(a))
              if (auto it = st.deps.find(a.name); it != st.deps.end())
                caf::anon_send(it->second, config_atom::value, previous);
          for (auto& a : sup_answers)
            if (needs_rollback(a))
              if (auto it = st.supervisors.find(a.name);
                  it != st.supervisors.end())
                caf::anon_send(it->second, config_atom::value, previous);
          answer_errors(job,
                        t.rejected ? http_status::bad_request
                                   : http_status::service_unavailable,
                        "configuration not applied; the previous "
                        "configuration was restored",
                        t.errors);
          finish_put(self);
        },
        config_atom::value, next);
    },
    config_atom::value, next);
}

// -- feature flags -------------------------------------------------------------

constexpr std::string_view flags_prefix = "/flags/";

/// `errors` as "PATH: message" lines, plus the count of dropped ones.
std::vector<std::string> error_lines(const error_list& errors) {
  return errors.lines();
}

/// The name in a `/flags/<name>` path, percent-decoded (clients and shells
/// often send `*` as `%2A`); nullopt for a malformed escape.
std::optional<std::string> decode_segment(std::string_view s) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9')
      return c - '0';
    if (c >= 'a' && c <= 'f')
      return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
      return c - 'A' + 10;
    return -1;
  };
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size())
      return std::nullopt;
    auto hi = hex(s[i + 1]);
    auto lo = hex(s[i + 2]);
    if (hi < 0 || lo < 0)
      return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

/// "*, inventory, payments": what `/flags/<name>` accepts.
std::string flag_names(const admin_state& st) {
  std::string out = "*";
  for (auto& [name, dep] : st.deps)
    out += ", " + name;
  return out;
}

void get_flags(admin_self self, admin_job job) {
  auto shown = to_json(self->state.flags);
  ask_all<flags_atom, std::string>(
    self, self->state.ask_timeout,
    [job, shown](std::vector<dep_answer<std::string>>& answers) {
      boost::json::object deps;
      for (auto& a : answers) {
        if (!a.value) {
          deps[a.name] = a.error;
          continue;
        }
        deps[a.name] = parsed_or(*a.value, boost::json::value(*a.value));
      }
      answer_pretty(job, http_status::ok,
                    boost::json::object{{"flags", shown},
                                        {"dependencies", std::move(deps)}});
    },
    flags_atom::value);
}

/// Sends each (name, flags JSON) of `changes` to its dependency actor and
/// calls `done` once all answered, failed or timed out (in `changes` order).
void send_flags(admin_self self,
                const std::vector<std::pair<std::string, std::string>>& changes,
                answers_handler<std::vector<std::string>> done) {
  auto& st = self->state;
  auto g = std::make_shared<gathering<std::vector<std::string>>>();
  g->answers.resize(changes.size());
  g->pending = changes.size();
  g->done = std::move(done);
  if (g->pending == 0) {
    g->done(g->answers);
    return;
  }
  auto timeout = st.apply_timeout;
  for (std::size_t i = 0; i < changes.size(); ++i) {
    auto& [name, text] = changes[i];
    g->answers[i].name = name;
    self->request(st.deps.at(name), timeout, flags_atom::value, text)
      .then(
        [g, i](flags_atom, std::vector<std::string>& r) {
          g->answers[i].value = std::move(r);
          g->one_done();
        },
        [g, i, self, timeout](caf::error& err) {
          g->answers[i].down = err == caf::sec::request_receiver_down;
          g->answers[i].error = describe_failure(self, err, timeout);
          g->one_done();
        });
  }
}

void apply_flags(admin_self self, admin_job job, const std::string& name,
                 bool remove) {
  auto& st = self->state;
  auto next = std::make_shared<feature_flags_config>(st.flags);
  if (remove) {
    if (name == "*")
      next->defaults = dependency_flags_config{};
    else
      next->dependencies.erase(name);
  } else {
    error_list errors;
    auto doc = parse_json_text(job.req.body(), errors);
    dependency_flags_config entry;
    if (errors.empty())
      entry = parse_dependency_flags_config(doc, json_path{}, errors);
    if (!errors.empty()) {
      answer_errors(job, http_status::bad_request,
                    "flags rejected (" + std::to_string(errors.size())
                      + (errors.size() == 1 ? " error" : " errors")
                      + "); nothing changed",
                    error_lines(errors));
      finish_put(self);
      return;
    }
    if (name == "*")
      next->defaults = entry;
    else
      next->dependencies[name] = entry;
  }
  // Only the actors whose effective flags change are told: an entry for one
  // dependency leaves every other actor (and its in-flight calls) alone.
  std::vector<std::pair<std::string, std::string>> changes;
  for (auto& [dep, handle] : st.deps) {
    auto& after = flags_for(*next, dep);
    if (!(after == flags_for(st.flags, dep)))
      changes.emplace_back(dep, boost::json::serialize(to_json(after)));
  }
  send_flags(
    self, changes,
    [self, job,
     next](std::vector<dep_answer<std::vector<std::string>>>& answers) {
      auto& st = self->state;
      auto t = tally(answers);
      if (t.errors.empty()) {
        st.flags = std::move(*next);
        answer_pretty(
          job, http_status::ok,
          boost::json::object{{"status", "applied"},
                              {"flags", to_json(st.flags)},
                              {"applied", std::move(t.applied)},
                              {"not_running", std::move(t.not_running)}});
        finish_put(self);
        return;
      }
      for (auto& a : answers)
        if (needs_rollback(a))
          if (auto it = st.deps.find(a.name); it != st.deps.end())
            caf::anon_send(
              it->second, flags_atom::value,
              boost::json::serialize(to_json(flags_for(st.flags, a.name))));
      answer_errors(job,
                    t.rejected ? http_status::bad_request
                               : http_status::service_unavailable,
                    "flags not applied; the previous flags were restored",
                    t.errors);
      finish_put(self);
    });
}

void apply_next_put(admin_self self) {
  auto& st = self->state;
  if (st.applying || st.waiting_puts.empty())
    return;
  st.applying = true;
  auto change = std::move(st.waiting_puts.front());
  st.waiting_puts.pop_front();
  if (change.flags)
    apply_flags(self, std::move(change.job), change.name, change.remove);
  else
    apply_put(self, std::move(change.job));
}

void put_config(admin_self self, admin_job job) {
  self->state.waiting_puts.push_back(
    queued_change{std::move(job), false, false, {}});
  apply_next_put(self);
}

/// `PUT` or `DELETE /flags/<name>`, token already checked.
void change_flags(admin_self self, admin_job job, std::string_view segment,
                  bool remove) {
  auto& st = self->state;
  auto name = decode_segment(segment);
  if (!name)
    return answer_error(job, http_status::bad_request,
                        "malformed percent-encoding in the flags name (got: \""
                          + std::string{segment} + "\")");
  if (*name != "*" && st.deps.count(*name) == 0)
    return answer_error(job, http_status::not_found,
                        "no running dependency \"" + *name
                          + "\" (flags can be set for: " + flag_names(st)
                          + ")");
  st.waiting_puts.push_back(
    queued_change{std::move(job), true, remove, std::move(*name)});
  apply_next_put(self);
}

void get_journey(admin_self self, admin_job job, std::string_view id_text) {
  std::uint64_t id = 0;
  auto [end, ec] =
    std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc{} || end != id_text.data() + id_text.size()) {
    answer_error(job, http_status::bad_request,
                 "journey id must be an unsigned integer (got: \""
                   + std::string{id_text} + "\")");
    return;
  }
  ask_all<journey_atom, std::string>(
    self, self->state.ask_timeout,
    [job, id](std::vector<dep_answer<std::string>>& answers) {
      boost::json::object found;
      for (auto& a : answers) {
        if (!a.value || a.value->empty())
          continue;
        found[a.name] = parsed_or(*a.value, boost::json::value(*a.value));
      }
      if (found.empty()) {
        answer_error(job, http_status::not_found,
                     "journey " + std::to_string(id)
                       + " not found (unknown, or no longer kept)");
        return;
      }
      answer(job, http_status::ok,
             boost::json::object{{"id", id}, {"journeys", std::move(found)}});
    },
    journey_atom::value, id);
}

void get_failed_journeys(admin_self self, admin_job job) {
  ask_all<journey_atom, std::string>(
    self, self->state.ask_timeout,
    [job](std::vector<dep_answer<std::string>>& answers) {
      boost::json::object failed;
      boost::json::object unavailable;
      for (auto& a : answers) {
        if (!a.value) {
          unavailable[a.name] = a.error;
          continue;
        }
        failed[a.name] = parsed_or(*a.value, boost::json::array{});
      }
      answer(job, http_status::ok,
             boost::json::object{{"failed", std::move(failed)},
                                 {"unavailable", std::move(unavailable)}});
    },
    journey_atom::value, failed_atom::value);
}

/// The body of `GET /traces/<trace id>` from the dependency actors' answers.
boost::json::object trace_doc(const trace_id& trace,
                              std::vector<dep_answer<std::string>>& answers) {
  boost::json::array spans;
  boost::json::object unavailable;
  for (auto& a : answers) {
    if (!a.value) {
      unavailable[a.name] = a.error;
      continue;
    }
    auto list = parsed_or(*a.value, boost::json::array{});
    if (!list.is_array())
      continue;
    for (auto& j : list.as_array()) {
      if (!j.is_object())
        continue;
      auto span = std::move(j.as_object());
      span["dependency"] = a.name;
      spans.emplace_back(std::move(span));
    }
  }
  return boost::json::object{{"trace_id", to_string(trace)},
                             {"spans", std::move(spans)},
                             {"unavailable", std::move(unavailable)}};
}

/// `GET /traces/<trace id>`: the spans every dependency actor of this
/// process kept for the trace (its journeys with span ids), by dependency.
/// The id is checked before anything is asked and never echoed.
void get_trace(admin_self self, admin_job job, std::string_view id_text) {
  trace_id trace;
  if (auto problem = parse_trace_id(id_text, trace))
    return answer_error(job, http_status::bad_request, *problem);
  ask_all<trace_atom, std::string>(
    self, self->state.ask_timeout,
    [job, trace](std::vector<dep_answer<std::string>>& answers) {
      answer(job, http_status::ok, trace_doc(trace, answers));
    },
    trace_atom::value, trace.hi, trace.lo);
}

/// Each peer's `/traces/<id>` must arrive within this, and be at most
/// `trace_peer_max_body` bytes.
constexpr std::chrono::milliseconds trace_peer_timeout{2'000};
constexpr std::size_t trace_peer_max_body = 1 << 20;
/// More concurrent `/traces/<id>/tree` requests are answered 503: each
/// holds a thread while it waits for the peers.
constexpr std::size_t max_tree_workers = 4;

/// The tree from this process's spans (`own`) and the peers' answers.
/// Blocks on the peers (bounded), so it runs on a detached worker of its
/// own, never on the admin actor's or an io thread.
boost::json::object assemble_tree(boost::json::object own,
                                  std::vector<trace_peer> peers,
                                  std::string own_label) {
  auto id = std::string{own.at("trace_id").as_string()};
  boost::json::object unavailable;
  if (auto* deps = own.if_contains("unavailable"); deps && deps->is_object())
    unavailable = deps->as_object();
  auto answers = fetch_peer_traces(peers, "/traces/" + id, trace_peer_timeout,
                                   trace_peer_max_body);
  std::vector<trace_source> sources;
  sources.push_back({std::move(own_label), std::move(own)});
  for (std::size_t i = 0; i < peers.size(); ++i) {
    auto url = "http://" + peers[i].label;
    if (!answers[i].error.empty()) {
      unavailable[url] = answers[i].error;
      continue;
    }
    boost::json::error_code ec;
    auto doc = boost::json::parse(answers[i].body, ec);
    if (ec) {
      unavailable[url] = "answer is not JSON";
      continue;
    }
    sources.push_back({peers[i].label, std::move(doc)});
  }
  auto tree = trace_tree_json(sources);
  tree["trace_id"] = id;
  tree["unavailable"] = std::move(unavailable);
  return tree;
}

/// The detached worker: assembles, frees its slot (before answering, so a
/// client's next request finds it free), then answers.
void trace_tree_worker(caf::blocking_actor* self, caf::actor admin,
                       admin_job job, boost::json::object own,
                       std::vector<trace_peer> peers, std::string own_label) {
  http_response res;
  try {
    auto tree =
      assemble_tree(std::move(own), std::move(peers), std::move(own_label));
    res = json_response(http_status::ok, boost::json::serialize(tree));
  } catch (const std::exception& e) {
    res = json_error(http_status::internal_server_error,
                     std::string{"assembling the trace failed: "} + e.what());
  }
  self->send(admin, tree_done_atom::value);
  job.respond.respond(std::move(res));
}

/// `GET /traces/<trace id>/tree`: this process's spans and those of every
/// configured peer (`admin_options::trace_peers`, nothing else), assembled
/// into one tree; peers that fail are listed in `unavailable`.
void get_trace_tree(admin_self self, admin_job job, std::string_view id_text) {
  trace_id trace;
  if (auto problem = parse_trace_id(id_text, trace))
    return answer_error(job, http_status::bad_request, *problem);
  if (self->state.tree_workers >= max_tree_workers)
    return answer_error(job, http_status::service_unavailable,
                        "too many trace trees being assembled (at most "
                          + std::to_string(max_tree_workers)
                          + " at once); retry shortly");
  ++self->state.tree_workers;
  ask_all<trace_atom, std::string>(
    self, self->state.ask_timeout,
    [self, job, trace](std::vector<dep_answer<std::string>>& answers) {
      auto& st = self->state;
      auto own = trace_doc(trace, answers);
      self->system().spawn<caf::detached>(
        trace_tree_worker, caf::actor_cast<caf::actor>(self), job,
        std::move(own), st.trace_peers, st.trace_label);
    },
    trace_atom::value, trace.hi, trace.lo);
}

void method_not_allowed(const admin_job& job, std::string_view path,
                        std::string_view allow) {
  auto res = json_error(http_status::method_not_allowed,
                        "method " + std::string{job.req.method_string()}
                          + " is not allowed on " + std::string{path}
                          + " (allowed: " + std::string{allow} + ")");
  res.set(http::field::allow, allow);
  job.respond.respond(std::move(res));
}

void route(admin_self self, admin_job job) {
  refresh(self);
  std::string_view target = job.req.target();
  auto qpos = target.find('?');
  auto path = target.substr(0, qpos);
  auto query = qpos == std::string_view::npos ? std::string_view{}
                                              : target.substr(qpos + 1);
  auto method = job.req.method();
  auto is_get = method == http::verb::get;
  if (path == "/healthz") {
    if (!is_get)
      return method_not_allowed(job, path, "GET");
    return get_healthz(job);
  }
  if (path == "/readyz") {
    if (!is_get)
      return method_not_allowed(job, path, "GET");
    return get_readyz(self, std::move(job));
  }
  if (path == "/metrics") {
    if (!is_get)
      return method_not_allowed(job, path, "GET");
    return get_metrics(self, std::move(job));
  }
  if (path == "/dashboard") {
    if (!is_get)
      return method_not_allowed(job, path, "GET");
    job.respond.respond(http_status::ok, dashboard_content_type,
                        std::string{dashboard_page()});
    return;
  }
  if (path == "/config") {
    if (is_get)
      return get_config(self, job);
    if (method != http::verb::put)
      return method_not_allowed(job, path, "GET, PUT");
    if (!authorized(self, job))
      return;
    return put_config(self, std::move(job));
  }
  if (path == "/flags") {
    if (!is_get)
      return method_not_allowed(job, path, "GET");
    return get_flags(self, std::move(job));
  }
  if (path.substr(0, flags_prefix.size()) == flags_prefix) {
    auto remove = method == http::verb::delete_;
    if (method != http::verb::put && !remove)
      return method_not_allowed(job, path, "PUT, DELETE");
    if (!authorized(self, job))
      return;
    return change_flags(self, std::move(job), path.substr(flags_prefix.size()),
                        remove);
  }
  if (path == "/journeys") {
    if (!is_get)
      return method_not_allowed(job, path, "GET");
    auto failed = query_param(query, "failed");
    if (!failed || !is_true(*failed))
      return answer_error(job, http_status::bad_request,
                          "listing journeys needs ?failed=1 (one journey: "
                          "/journeys/<id>)");
    return get_failed_journeys(self, std::move(job));
  }
  constexpr std::string_view journeys_prefix = "/journeys/";
  if (path.substr(0, journeys_prefix.size()) == journeys_prefix) {
    if (!is_get)
      return method_not_allowed(job, path, "GET");
    return get_journey(self, std::move(job),
                       path.substr(journeys_prefix.size()));
  }
  constexpr std::string_view traces_prefix = "/traces/";
  if (path.substr(0, traces_prefix.size()) == traces_prefix) {
    if (!is_get)
      return method_not_allowed(job, path, "GET");
    auto rest = path.substr(traces_prefix.size());
    constexpr std::string_view tree_suffix = "/tree";
    if (rest.size() > tree_suffix.size()
        && rest.substr(rest.size() - tree_suffix.size()) == tree_suffix)
      return get_trace_tree(self, std::move(job),
                            rest.substr(0, rest.size() - tree_suffix.size()));
    return get_trace(self, std::move(job), rest);
  }
  answer_error(
    job, http_status::not_found,
    "no such endpoint: " + std::string{path}
      + " (endpoints: /healthz, /readyz, /metrics, /dashboard, /config, "
        "/flags, /flags/<name>, /journeys?failed=1, /journeys/<id>, "
        "/traces/<trace id>, /traces/<trace id>/tree)");
}

caf::behavior admin_actor(admin_self self, bulwark_config current,
                          std::map<std::string, dependency_actor> deps,
                          admin_options opts) {
  auto& st = self->state;
  st.current = std::move(current);
  st.deps = std::move(deps);
  st.token = opts.token;
  st.check_token = admin_requires_token(opts.host, opts.token);
  st.ask_timeout = opts.ask_timeout;
  st.apply_timeout = opts.apply_timeout;
  st.render_metrics = std::move(opts.render_metrics);
  st.supervisors = std::move(opts.supervisors);
  st.registry = std::move(opts.registry);
  st.flags = std::move(opts.flags);
  st.trace_peers = parse_trace_peers(opts.trace_peers);
  return {
    [self](trace_label_atom, std::string& label) {
      self->state.trace_label = std::move(label);
    },
    [self](tree_done_atom) { --self->state.tree_workers; },
    [self](admin_job& job) {
      // An exception would terminate the actor and with it every endpoint.
      auto respond = job.respond;
      try {
        route(self, std::move(job));
      } catch (const std::exception& e) {
        respond.respond(
          json_error(http_status::internal_server_error,
                     std::string{"admin endpoint failed: "} + e.what()));
      }
    },
  };
}

} // namespace

bool admin_requires_token(const std::string& host, const std::string& token) {
  return !token.empty() || !is_loopback_host(host);
}

namespace {

/// Sends every running dependency actor its starting flags and waits for
/// the answers, so the server only serves once the actors run what
/// `GET /flags` shows. Throws std::invalid_argument when an actor rejects
/// its flags or does not answer in `timeout`; an actor that is not running
/// is skipped (as a flags change skips it).
void apply_start_flags(caf::actor_system& sys,
                       const feature_flags_config& flags,
                       const std::map<std::string, dependency_actor>& deps,
                       std::chrono::milliseconds timeout) {
  bool all_default = is_default(flags.defaults);
  for (auto& [name, entry] : flags.dependencies)
    all_default = all_default && is_default(entry);
  if (all_default)
    return;
  caf::scoped_actor self{sys};
  for (auto& [name, dep] : deps) {
    auto text = boost::json::serialize(to_json(flags_for(flags, name)));
    std::string problem;
    self->request(dep, timeout, flags_atom::value, text)
      .receive(
        [&](flags_atom, std::vector<std::string>& errors) {
          for (auto& e : errors)
            problem += (problem.empty() ? "" : "; ") + e;
        },
        [&](caf::error& err) {
          if (err != caf::sec::request_receiver_down)
            problem = sys.render(err);
        });
    if (!problem.empty())
      throw std::invalid_argument("admin server: dependency \"" + name
                                  + "\" did not take its starting flags: "
                                  + problem);
  }
}

} // namespace

struct admin_server::impl {
  caf::actor actor;
  std::unique_ptr<http_server> server;
  std::string host;
};

admin_server::admin_server(caf::actor_system& sys, bulwark_config current,
                           std::map<std::string, dependency_actor> deps,
                           admin_options opts)
  : impl_(std::make_unique<impl>()) {
  if (!is_loopback_host(opts.host) && opts.token.empty())
    throw std::invalid_argument(
      "admin server: refusing to listen on \"" + opts.host
      + "\" without a token: control endpoints on a non-loopback address "
        "need admin_options::token (or bind 127.0.0.1)");
  for (auto& [name, dep] : deps)
    if (!dep)
      throw std::invalid_argument("admin server: dependency \"" + name
                                  + "\" has no actor");
  for (auto& [name, sup] : opts.supervisors)
    if (!sup)
      throw std::invalid_argument("admin server: supervisor \"" + name
                                  + "\" has no actor");
  parse_trace_peers(opts.trace_peers); // throws on a bad entry
  apply_start_flags(sys, opts.flags, deps, opts.apply_timeout);
  http_server_options http;
  http.threads = opts.threads;
  http.max_header_bytes = opts.max_header;
  http.max_body_bytes = opts.max_body;
  http.read_timeout = opts.read_timeout;
  http.max_connections = opts.max_connections;
  http.server_name = "bulwark-admin";
  impl_->host = opts.host;
  auto host = opts.host;
  auto port = opts.port;
  impl_->actor = sys.spawn(admin_actor, std::move(current), std::move(deps),
                           std::move(opts));
  impl_->server = std::make_unique<http_server>(
    [actor = impl_->actor](http_request req, http_responder respond) {
      // A job that cannot be delivered (the actor is gone) is destroyed
      // unanswered, and its responder answers 500.
      caf::anon_send(actor, admin_job{std::move(req), std::move(respond)});
    },
    http);
  try {
    impl_->server->start(host, port);
    caf::anon_send(impl_->actor, trace_label_atom::value,
                   host + ":" + std::to_string(impl_->server->port()));
  } catch (...) {
    caf::anon_send_exit(impl_->actor, caf::exit_reason::user_shutdown);
    throw;
  }
}

admin_server::~admin_server() {
  stop();
}

void admin_server::stop() {
  if (impl_->server)
    impl_->server->stop();
  if (impl_->actor) {
    caf::anon_send_exit(impl_->actor, caf::exit_reason::user_shutdown);
    impl_->actor = nullptr;
  }
}

std::uint16_t admin_server::port() const noexcept {
  return impl_->server ? impl_->server->port() : 0;
}

const std::string& admin_server::host() const noexcept {
  return impl_->host;
}

std::unique_ptr<admin_server>
start_admin_server(caf::actor_system& sys, const bulwark_config& current,
                   std::map<std::string, dependency_actor> deps,
                   admin_options opts) {
  return std::make_unique<admin_server>(sys, current, std::move(deps),
                                        std::move(opts));
}

} // namespace bulwark
