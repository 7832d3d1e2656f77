#include "bulwark/actors/host/service_host.hpp"

#include <algorithm>
#include <mutex>
#include <set>
#include <stdexcept>
#include <utility>

#include <caf/all.hpp>

#include "bulwark/actors/dependency/dependency_actor.hpp"
#include "bulwark/actors/host/live_alias.hpp"
#include "bulwark/actors/http/http_service.hpp"
#include "bulwark/actors/supervise/supervisor_actor.hpp"
#include "bulwark/runtime/core/rng.hpp"
#include "bulwark/runtime/supervise/restart_tracker.hpp"

namespace bulwark {

namespace {

/// FNV-1a: a per-name seed that does not depend on start order.
std::uint64_t name_hash(const std::string& name) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

} // namespace

/// What the host's factories share: the registry, the policy state of
/// every dependency (kept across incarnations) and the aliases alternates
/// reach. Factories hold it weakly, so a supervisor outliving its host
/// starts nothing.
struct host_context : std::enable_shared_from_this<host_context> {
  service_registry_ptr registry;
  std::uint64_t seed = 1;
  std::uint32_t journey_sample = 64;
  /// By dependency name; set before anything starts, read-only afterwards.
  std::map<std::string, caf::actor> aliases;
  /// Every transport factory, by dependency name (read-only once started).
  std::map<std::string, transport_factory> factories;
  /// Starts remote members (read-only once started).
  std::function<caf::actor(caf::actor_system&, const std::string&,
                           const caf::actor&)>
    remotes;
  std::mutex mtx;
  std::map<std::string, dependency_policies_ptr> policies;
  /// Watches transports started after the host (guarded by `mtx`).
  caf::actor keeper;

  dependency_policies_ptr policies_for(const dependency_config& cfg) {
    std::lock_guard<std::mutex> guard{mtx};
    auto& p = policies[cfg.name];
    if (!p)
      p = std::make_shared<dependency_policies>(cfg);
    return p;
  }

  /// Starts dependency `name` of `doc` with the transport in force and the
  /// policy state of its previous incarnation, and records it.
  caf::actor start_dependency(caf::actor_system& sys, const std::string& name,
                              const bulwark_config& doc) {
    auto* cfg = doc.find(name);
    if (cfg == nullptr)
      return {};
    dependency_options o;
    o.config = *cfg;
    o.policies = policies_for(*cfg);
    o.seed = seed ^ name_hash(name);
    o.journey_sample = journey_sample;
    for (auto& [alias_name, alias] : aliases)
      if (alias_name != name)
        o.alternates.emplace(alias_name, alias);
    caf::actor result;
    caf::actor fresh_transport;
    // One step for anyone else: a transport restarted meanwhile is either
    // read here or handed to the handle recorded here.
    registry->update_dependency(name, [&](
                                        service_registry::dependency_entry& e) {
      if (!e.transport) {
        // A dependency a reload added: its transport starts now.
        if (auto f = factories.find(name); f != factories.end())
          e.transport = fresh_transport = f->second(sys);
      }
      o.transport = e.transport;
      result = caf::actor_cast<caf::actor>(spawn_dependency(sys, std::move(o)));
      e.handle = result;
      ++e.incarnation;
    });
    forget_on_stop(result, name, false);
    if (fresh_transport) {
      caf::actor k;
      {
        std::lock_guard<std::mutex> guard{mtx};
        k = keeper;
      }
      if (k)
        caf::anon_send(k, transport_atom::value, name, fresh_transport);
    }
    return result;
  }

  /// Starts supervisor `name` of `doc`; its members start through
  /// `start_member` (nested supervisors included) from the document the
  /// supervisor applied last.
  caf::actor start_supervisor(caf::actor_system& sys, const std::string& name,
                              std::shared_ptr<const bulwark_config> doc) {
    auto* cfg = doc->find_supervisor(name);
    if (cfg == nullptr)
      return {};
    supervisor_options o;
    o.config = *cfg;
    o.document = doc;
    o.seed = seed ^ name_hash(name);
    o.journey_sample = journey_sample;
    std::weak_ptr<host_context> weak = shared_from_this();
    o.factory = [weak](caf::actor_system& s, const std::string& member,
                       const std::shared_ptr<const bulwark_config>& in_force,
                       const caf::actor& owner) {
      auto ctx = weak.lock();
      return ctx ? ctx->start_member(s, member, in_force, owner) : caf::actor{};
    };
    // Not under the registry's lock: the supervisor starts its members now.
    auto result = caf::actor_cast<caf::actor>(spawn_supervisor(sys, o));
    registry->update_supervisor(name,
                                [&](service_registry::supervisor_entry& e) {
                                  e.handle = result;
                                  ++e.incarnation;
                                });
    forget_on_stop(result, name, true);
    return result;
  }

  /// An incarnation stopped on purpose (a member its supervisor removed,
  /// everything at shutdown) leaves the registry, so the admin server no
  /// longer lists it; a crashed one stays until its successor replaces it.
  void forget_on_stop(const caf::actor& x, const std::string& name,
                      bool is_supervisor) {
    if (!x)
      return;
    std::weak_ptr<service_registry> weak = registry;
    auto addr = x.address();
    x->attach_functor([weak, name, addr, is_supervisor](const caf::error& why) {
      if (why != caf::exit_reason::user_shutdown
          && why != caf::exit_reason::normal)
        return;
      auto reg = weak.lock();
      if (!reg)
        return;
      auto forget = [&](caf::actor& handle) {
        if (handle && handle.address() == addr)
          handle = nullptr;
      };
      if (is_supervisor)
        reg->update_supervisor(
          name,
          [&](service_registry::supervisor_entry& e) { forget(e.handle); });
      else
        reg->update_dependency(
          name,
          [&](service_registry::dependency_entry& e) { forget(e.handle); });
    });
  }

  caf::actor start_member(caf::actor_system& sys, const std::string& name,
                          std::shared_ptr<const bulwark_config> doc,
                          const caf::actor& owner) {
    if (!doc)
      doc = registry->document();
    if (doc->find(name) != nullptr)
      return start_dependency(sys, name, *doc);
    if (doc->cluster && doc->cluster->find_remote(name) != nullptr)
      return remotes ? remotes(sys, name, owner) : caf::actor{};
    return start_supervisor(sys, name, std::move(doc));
  }
};

namespace {

enum class owned_kind : std::uint8_t { transport, dependency, supervisor };

const char* to_string(owned_kind x) {
  switch (x) {
    case owned_kind::transport:
      return "transport";
    case owned_kind::dependency:
      return "dependency";
    case owned_kind::supervisor:
      return "supervisor";
  }
  return "invalid";
}

/// One actor the host itself restarts.
struct owned_entry {
  owned_kind kind = owned_kind::transport;
  std::string name;
  caf::actor handle;
  restart_tracker restarts;
  std::uint64_t incarnation = 0;
  transport_factory factory; // transports only
  /// No longer the host's (a reload made it a member of a supervisor).
  bool retired = false;
  /// What `/metrics` shows of it (bulwark_host_*).
  host_actor_stats stats;
};

/// The entry of something the host just started (its first incarnation).
owned_entry first_incarnation(owned_kind kind, const std::string& name,
                              caf::actor handle, const restart_config& restarts,
                              transport_factory factory = {}) {
  owned_entry e;
  e.kind = kind;
  e.name = name;
  e.handle = std::move(handle);
  e.restarts.reconfigure(restarts);
  e.incarnation = 1;
  e.factory = std::move(factory);
  return e;
}

struct keeper_state {
  static inline const char* name = "bulwark.service_host";

  std::weak_ptr<host_context> ctx;
  std::vector<owned_entry> entries;
  rng gen{1};
  restart_config restarts;

  ~keeper_state() {
    for (auto& e : entries)
      if (e.handle)
        caf::anon_send_exit(e.handle, caf::exit_reason::user_shutdown);
  }
};

using keeper_actor = caf::stateful_actor<keeper_state>;

/// Shows entry `e`'s counters in the registry (so on `/metrics`).
void publish(keeper_actor* self, const owned_entry& e) {
  if (auto ctx = self->state.ctx.lock())
    ctx->registry->set_host_actor(to_string(e.kind), e.name, e.stats);
}

/// Starts entry `i` again; false when nothing could be started.
bool restart_entry(keeper_actor* self, std::uint32_t i) {
  auto& st = self->state;
  auto ctx = st.ctx.lock();
  if (!ctx)
    return false;
  auto& e = st.entries[i];
  auto& sys = self->system();
  switch (e.kind) {
    case owned_kind::transport: {
      auto t = e.factory ? e.factory(sys) : caf::actor{};
      if (!t)
        return false;
      caf::actor dep;
      ctx->registry->update_dependency(
        e.name, [&](service_registry::dependency_entry& x) {
          x.transport = t;
          dep = x.handle;
        });
      e.handle = t;
      // A dependency started after the update above reads the new
      // transport itself; this one is told.
      if (dep)
        caf::anon_send(dep, transport_atom::value, t);
      break;
    }
    case owned_kind::dependency:
      e.handle = ctx->start_dependency(sys, e.name, *ctx->registry->document());
      break;
    case owned_kind::supervisor:
      e.handle = ctx->start_supervisor(sys, e.name, ctx->registry->document());
      break;
  }
  if (!e.handle)
    return false;
  ++e.incarnation;
  e.restarts.on_started(self->clock().now());
  self->monitor(e.handle);
  ++e.stats.restarts;
  publish(self, e);
  return true;
}

void on_crash(keeper_actor* self, std::uint32_t i) {
  auto& e = self->state.entries[i];
  if (e.retired)
    return;
  auto d = e.restarts.on_crash(self->clock().now(), self->state.gen);
  if (d.action == restart_action::restart) {
    self->delayed_send(self, d.delay, restart_atom::value, i, e.incarnation);
  } else {
    // Past the restart intensity the host gives up on it: a dependency
    // without its transport answers every call with a local rejection.
    // bulwark_host_given_up says so.
    e.stats.given_up = 1;
  }
  publish(self, e);
}

/// After a reload was applied: what is now outside every supervisor runs
/// under the host, what a supervisor now owns does not.
void reconcile(keeper_actor* self) {
  auto& st = self->state;
  auto ctx = st.ctx.lock();
  if (!ctx)
    return;
  auto doc = ctx->registry->document();
  std::set<std::string> members;
  for (auto& sup : doc->supervisors)
    members.insert(sup.members.begin(), sup.members.end());
  auto owned = [&](owned_kind kind, const std::string& name) -> owned_entry* {
    for (auto& e : st.entries)
      if (e.kind == kind && e.name == name && !e.retired)
        return &e;
    return nullptr;
  };
  auto adopt = [&](owned_kind kind, const std::string& name, caf::actor h) {
    if (!h)
      return;
    self->monitor(h);
    st.entries.push_back(
      first_incarnation(kind, name, std::move(h), st.restarts));
    publish(self, st.entries.back());
  };
  auto release = [&](owned_entry& e) {
    e.retired = true;
    ++e.incarnation; // a pending restart is stale
    if (e.handle) {
      self->demonitor(e.handle);
      caf::anon_send_exit(e.handle, caf::exit_reason::user_shutdown);
      e.handle = nullptr;
    }
  };
  auto& sys = self->system();
  for (auto& dep : doc->dependencies) {
    auto* e = owned(owned_kind::dependency, dep.name);
    bool top = members.count(dep.name) == 0;
    if (top && e == nullptr)
      adopt(owned_kind::dependency, dep.name,
            ctx->start_dependency(sys, dep.name, *doc));
    else if (!top && e != nullptr)
      release(*e);
  }
  for (auto& sup : doc->supervisors) {
    auto* e = owned(owned_kind::supervisor, sup.name);
    bool top = members.count(sup.name) == 0;
    if (top && e == nullptr)
      adopt(owned_kind::supervisor, sup.name,
            ctx->start_supervisor(sys, sup.name, doc));
    else if (!top && e != nullptr)
      release(*e);
  }
}

caf::behavior keeper(keeper_actor* self, std::weak_ptr<host_context> ctx,
                     std::vector<owned_entry> entries, std::uint64_t seed,
                     restart_config restarts) {
  auto& st = self->state;
  st.restarts = restarts;
  st.ctx = std::move(ctx);
  st.entries = std::move(entries);
  st.gen = rng{seed};
  for (auto& e : st.entries) {
    if (e.handle)
      self->monitor(e.handle);
    publish(self, e); // every series exists from the start
  }
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& st = self->state;
    for (std::uint32_t i = 0; i < st.entries.size(); ++i) {
      auto& e = st.entries[i];
      if (!e.handle || e.handle.address() != dm.source)
        continue;
      e.handle = nullptr;
      ++e.stats.crashes;
      on_crash(self, i);
      return;
    }
  });
  return {
    // A transport started for a dependency a reload added: watch it too.
    [self](transport_atom, const std::string& name, caf::actor& t) {
      auto& st = self->state;
      auto ctx = st.ctx.lock();
      if (!ctx || !t)
        return;
      owned_entry e;
      e.kind = owned_kind::transport;
      e.name = name;
      e.handle = std::move(t);
      e.restarts.reconfigure(st.restarts);
      e.incarnation = 1;
      if (auto f = ctx->factories.find(name); f != ctx->factories.end())
        e.factory = f->second;
      self->monitor(e.handle);
      publish(self, e);
      st.entries.push_back(std::move(e));
    },
    [self](config_atom) { reconcile(self); },
    [self](restart_atom, std::uint32_t i, std::uint64_t incarnation) {
      auto& st = self->state;
      if (i >= st.entries.size() || st.entries[i].incarnation != incarnation
          || st.entries[i].handle || st.entries[i].retired)
        return;
      if (!restart_entry(self, i))
        on_crash(self, i);
    },
  };
}

} // namespace

struct service_host::impl {
  caf::actor_system* sys = nullptr;
  std::shared_ptr<host_context> ctx;
  caf::actor keeper;
  std::unique_ptr<admin_server> admin;
  /// Attached HTTP services, in attach order. Their registry probes hold
  /// weak references: a scrape that copied a probe never reads a destroyed
  /// service.
  std::vector<std::pair<std::string, std::shared_ptr<http_service>>> services;
  bool services_stopped = false;
  bool stopped = false;

  void stop_services() {
    if (services_stopped)
      return;
    services_stopped = true;
    for (auto i = services.rbegin(); i != services.rend(); ++i)
      i->second->stop();
  }

  void stop() {
    if (stopped)
      return;
    stopped = true;
    stop_services();
    for (auto& [name, svc] : services)
      ctx->registry->set_http_service(name, {});
    admin.reset();
    // The keeper stops what it owns: transports, top-level supervisors
    // (which stop their members) and dependencies outside every supervisor.
    if (keeper)
      caf::anon_send_exit(keeper, caf::exit_reason::user_shutdown);
    for (auto& [name, alias] : ctx->aliases)
      caf::anon_send_exit(alias, caf::exit_reason::user_shutdown);
    // Transports started for dependencies a reload added may not have
    // reached the keeper yet.
    for (auto& [name, t] : ctx->registry->transports())
      caf::anon_send_exit(t, caf::exit_reason::user_shutdown);
  }
};

service_host::service_host(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
  // nop
}

service_host::~service_host() {
  stop();
}

void service_host::stop() {
  impl_->stop();
}

void service_host::stop_services() {
  impl_->stop_services();
}

http_service& service_host::attach(std::string name,
                                   std::unique_ptr<http_service> svc) {
  auto& st = *impl_;
  if (st.stopped)
    throw std::logic_error("service_host::attach after stop()");
  if (!svc)
    throw std::invalid_argument("service_host::attach: no service");
  auto printable = [](char c) { return c > ' ' && c < 0x7f; };
  if (name.empty() || name.size() > 64
      || !std::all_of(name.begin(), name.end(), printable))
    throw std::invalid_argument("service_host::attach: a service name has 1 "
                                "to 64 printable ASCII characters, no spaces");
  for (auto& [other, x] : st.services)
    if (other == name)
      throw std::invalid_argument("service_host::attach: a service named \""
                                  + name + "\" is attached already");
  std::shared_ptr<http_service> shared{std::move(svc)};
  st.ctx->registry->set_http_service(
    name, [weak = std::weak_ptr<http_service>{shared}] {
      auto svc = weak.lock();
      return svc ? svc->stats() : http_service_stats{};
    });
  st.services.emplace_back(std::move(name), shared);
  return *shared;
}

caf::actor service_host::alias(const std::string& name) const {
  auto& aliases = impl_->ctx->aliases;
  auto i = aliases.find(name);
  return i == aliases.end() ? caf::actor{} : i->second;
}

service_host::start_result service_host::start(caf::actor_system& sys,
                                               std::string_view json_text,
                                               service_host_options opts) {
  auto parsed = parse_bulwark_config(json_text);
  if (!parsed.ok()) {
    start_result r;
    r.errors = parsed.errors.lines();
    // The options' errors too: every error at once.
    for (auto& [name, f] : opts.transports)
      if (!f)
        r.errors.push_back("(transports)/" + name + ": the factory is empty");
    return r;
  }
  return start(sys, *parsed.config, std::move(opts));
}

service_host::start_result service_host::start(caf::actor_system& sys,
                                               const bulwark_config& doc,
                                               service_host_options opts) {
  start_result r;
  for (auto& dep : doc.dependencies)
    if (opts.transports.count(dep.name) == 0)
      r.errors.push_back("/dependencies/" + dep.name
                         + ": no transport factory was given for \"" + dep.name
                         + "\" (service_host_options::transports)");
  // A factory for a name the document lacks is kept for a dependency a
  // reload may add.
  for (auto& [name, f] : opts.transports)
    if (!f)
      r.errors.push_back("(transports)/" + name + ": the factory is empty");
  if (doc.cluster && !opts.remotes)
    for (auto& sup : doc.supervisors)
      for (auto& m : sup.members)
        if (doc.cluster->find_remote(m) != nullptr)
          r.errors.push_back("/supervisors/" + sup.name + ": member \"" + m
                             + "\" is a remote, but no remote factory was "
                               "given (service_host_options::remotes, e.g. "
                               "cluster_node::spawn_remote)");
  if (!r.errors.empty())
    return r;
  auto doc_ptr = std::make_shared<const bulwark_config>(doc);
  auto ctx = std::make_shared<host_context>();
  ctx->registry = std::make_shared<service_registry>(doc_ptr);
  ctx->seed = opts.seed;
  ctx->journey_sample = opts.journey_sample;
  ctx->factories = opts.transports;
  ctx->remotes = opts.remotes;
  std::vector<owned_entry> owned;
  auto stop_owned = [&] {
    for (auto& e : owned)
      if (e.handle)
        caf::anon_send_exit(e.handle, caf::exit_reason::user_shutdown);
    for (auto& [name, alias] : ctx->aliases)
      caf::anon_send_exit(alias, caf::exit_reason::user_shutdown);
  };
  auto own = [&](owned_kind kind, const std::string& name, caf::actor handle,
                 transport_factory factory = {}) {
    owned.push_back(first_incarnation(kind, name, std::move(handle),
                                      opts.restarts, std::move(factory)));
  };
  // Transports first: every dependency starts with its own.
  for (auto& dep : doc.dependencies) {
    auto& factory = opts.transports.at(dep.name);
    auto t = factory(sys);
    if (!t) {
      stop_owned();
      r.errors.push_back("(transports)/" + dep.name
                         + ": the factory returned no actor");
      return r;
    }
    ctx->registry->update_dependency(
      dep.name,
      [&](service_registry::dependency_entry& e) { e.transport = t; });
    own(owned_kind::transport, dep.name, t, factory);
  }
  // One alias per name, before anything that may call one.
  for (auto& dep : doc.dependencies)
    ctx->aliases.emplace(dep.name,
                         spawn_live_alias(sys, ctx->registry, dep.name));
  for (auto& sup : doc.supervisors)
    ctx->aliases.emplace(sup.name,
                         spawn_live_alias(sys, ctx->registry, sup.name));
  std::set<std::string> members;
  for (auto& sup : doc.supervisors)
    members.insert(sup.members.begin(), sup.members.end());
  for (auto& sup : doc.supervisors)
    if (members.count(sup.name) == 0)
      own(owned_kind::supervisor, sup.name,
          ctx->start_supervisor(sys, sup.name, doc_ptr));
  for (auto& dep : doc.dependencies)
    if (members.count(dep.name) == 0)
      own(owned_kind::dependency, dep.name,
          ctx->start_dependency(sys, dep.name, *doc_ptr));
  auto pimpl = std::make_unique<impl>();
  pimpl->sys = &sys;
  pimpl->ctx = ctx;
  pimpl->keeper = sys.spawn(keeper, std::weak_ptr<host_context>{ctx},
                            std::move(owned), opts.seed, opts.restarts);
  {
    std::lock_guard<std::mutex> guard{ctx->mtx};
    ctx->keeper = pimpl->keeper;
  }
  // An applied reload may move actors in or out of supervisors.
  ctx->registry->on_document([k = caf::actor_addr{pimpl->keeper.address()}](
                               const std::shared_ptr<const bulwark_config>&) {
    if (auto keeper = caf::actor_cast<caf::actor>(k))
      caf::anon_send(keeper, config_atom::value);
  });
  std::unique_ptr<service_host> host{new service_host(std::move(pimpl))};
  if (opts.admin) {
    auto admin_opts = std::move(*opts.admin);
    admin_opts.registry = ctx->registry;
    admin_opts.supervisors = ctx->registry->supervisors();
    // Throws like admin_server's constructor; `host` stops the rest.
    host->impl_->admin = start_admin_server(
      sys, doc, ctx->registry->dependencies(), std::move(admin_opts));
  }
  r.host = std::move(host);
  return r;
}

caf::actor service_host::find(const std::string& name) const {
  auto& reg = *impl_->ctx->registry;
  if (auto dep = reg.dependency(name))
    return dep;
  return reg.supervisor(name);
}

dependency_actor service_host::dependency(const std::string& name) const {
  return caf::actor_cast<dependency_actor>(
    impl_->ctx->registry->dependency(name));
}

supervisor_actor service_host::supervisor(const std::string& name) const {
  return caf::actor_cast<supervisor_actor>(
    impl_->ctx->registry->supervisor(name));
}

caf::actor service_host::transport(const std::string& name) const {
  return impl_->ctx->registry->transport(name);
}

const service_registry_ptr& service_host::registry() const noexcept {
  return impl_->ctx->registry;
}

admin_server* service_host::admin() const noexcept {
  return impl_->admin.get();
}

} // namespace bulwark
