#include "bulwark/actors/cluster/cluster_node.hpp"

#include "bulwark/actors/cluster/cluster_setup.hpp"
#include "bulwark/actors/cluster/cluster_tls.hpp"
#include "bulwark/actors/cluster/node_gate.hpp"
#include "bulwark/actors/cluster/peer_link.hpp"
#include "bulwark/actors/cluster/reach_prober.hpp"
#include "bulwark/actors/cluster/remote_member.hpp"
#include "bulwark/runtime/config/bulwark_config.hpp"

#include <caf/all.hpp>
#include <caf/io/middleman.hpp>

#include <algorithm>
#include <random>

namespace bulwark {

namespace {

std::uint64_t random_epoch() {
  std::random_device rd;
  return (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
}

template <class Config>
published_entry entry_of(const Config& cfg, published_kind kind,
                         caf::actor handle) {
  published_entry e;
  e.name = cfg.name;
  e.kind = kind;
  e.handle = std::move(handle);
  e.default_idempotency = cfg.repeat;
  for (auto& op : cfg.operations) {
    e.operations.push_back(op.name);
    e.idempotencies.push_back(op.repeat);
  }
  return e;
}

bool valid_ledger_name(const std::string& name) {
  if (name.empty() || name.size() > max_published_name_bytes)
    return false;
  return std::all_of(name.begin(), name.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
           || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' || ch == '.';
  });
}

std::vector<std::string>
check_published(const cluster_config& c,
                const std::vector<published_entry>& entries) {
  std::vector<std::string> errors;
  std::vector<std::string> seen;
  for (auto& e : entries) {
    auto listed =
      std::find(c.publish.begin(), c.publish.end(), e.name) != c.publish.end();
    if (std::find(seen.begin(), seen.end(), e.name) != seen.end())
      errors.emplace_back("/cluster/publish: \"" + e.name
                          + "\" is handed in twice");
    else if (e.kind != published_kind::ledger) {
      if (!listed)
        errors.emplace_back("/cluster/publish: \"" + e.name
                            + "\" is handed in but not listed");
    } else if (listed) {
      errors.emplace_back("/cluster/publish: \"" + e.name
                          + "\" is a ledger owner and a published "
                            "dependency or supervisor");
    } else if (!valid_ledger_name(e.name)) {
      errors.emplace_back("/cluster/publish: a ledger owner's name must be "
                          "1-64 of A-Z a-z 0-9 _ - .");
    } else if (!e.handle || !e.operations.empty()) {
      errors.emplace_back("/cluster/publish: ledger owner \"" + e.name
                          + "\" needs a handle and takes no operations");
    } else if (!c.listen_port) {
      errors.emplace_back("/cluster/publish: publishing ledger owner \""
                          + e.name
                          + "\" needs a listener: set "
                            "/cluster/listen/port");
    }
    seen.push_back(e.name);
  }
  return errors;
}

} // namespace

cluster_node::start_result cluster_node::start(caf::actor_system& sys,
                                               cluster_node_options opts) {
  start_result result;
  auto& c = opts.config;
  if (!sys.has_middleman()) {
    result.errors.emplace_back(
      "/cluster: the actor system was not configured with configure_cluster");
    return result;
  }
  if (c.tls && !sys.has_openssl_manager()) {
    // Never a plaintext gate or connect for a document that asks for TLS.
    result.errors.emplace_back("/cluster/tls: the actor system was not "
                               "configured with configure_cluster");
    return result;
  }
  if (opts.published)
    result.errors = check_published(c, *opts.published);
  if (!result.errors.empty())
    return result;
  std::unique_ptr<cluster_node> node{new cluster_node};
  node->sys_ = &sys;
  node->config_ = c;
  node->hello_ = local_hello(c, opts.epoch != 0 ? opts.epoch : random_epoch());
  node->directory_ = std::make_shared<cluster_directory>();
  node->prober_ = std::make_shared<reach_prober>();
  std::uint64_t i = 0;
  for (auto& peer : c.peers) {
    peer_link_options link;
    link.peer = peer;
    link.connect = c.connect;
    link.local = node->hello_;
    link.remotes = c.remotes;
    link.prober = node->prober_;
    link.directory = node->directory_;
    link.tls = c.tls.has_value();
    link.seed = opts.seed * 1000003 + ++i;
    node->links_.emplace_back(peer.name, spawn_peer_link(sys, std::move(link)));
  }
  if (opts.published) {
    result.errors = node->publish(std::move(*opts.published));
    if (!result.errors.empty())
      return result;
  }
  result.node = std::move(node);
  return result;
}

std::vector<std::string>
cluster_node::publish(std::vector<published_entry> entries) {
  auto errors = check_published(config_, entries);
  if (gate_)
    errors.emplace_back("/cluster/publish: the gate is published already");
  if (!errors.empty() || !config_.listen_port)
    return errors;
  node_gate_options gate_opts;
  gate_opts.local = hello_;
  gate_opts.entries = std::move(entries);
  gate_ = spawn_node_gate(*sys_, std::move(gate_opts));
  // Bound to the configured address only (127.0.0.1 by default), never to
  // every interface; reuse so a restarted node gets its port back while
  // the old connections sit in TIME_WAIT. With TLS, through the OpenSSL
  // module only: the node has no plaintext listener.
  auto port =
    publish_cluster_gate(*sys_, gate_, *config_.listen_port,
                         config_.listen_host, config_.tls.has_value());
  if (!port) {
    errors.emplace_back("/cluster/listen: cannot listen on "
                        + config_.listen_host + ":"
                        + std::to_string(*config_.listen_port) + ": "
                        + sys_->render(port.error()));
    caf::anon_send_exit(gate_, caf::exit_reason::user_shutdown);
    gate_ = nullptr;
    return errors;
  }
  port_ = *port;
  return errors;
}

caf::actor cluster_node::link(const std::string& name) const {
  for (auto& [peer, handle] : links_)
    if (peer == name)
      return handle;
  return {};
}

caf::actor cluster_node::spawn_remote(const std::string& name,
                                      const caf::actor& owner) {
  auto* remote = config_.find_remote(name);
  if (sys_ == nullptr || remote == nullptr)
    return {};
  auto* peer = config_.find_peer(remote->node);
  // The peer's bounds are shared by its remotes: split evenly, each >= 1,
  // so no counter is shared between actors.
  std::uint32_t share = 0;
  for (auto& r : config_.remotes)
    share += r.node == remote->node ? 1 : 0;
  remote_member_options o;
  o.call.node = remote->node;
  o.call.name = remote->name;
  o.call.max_in_flight =
    std::max<std::uint32_t>(1, peer->max_in_flight / share);
  o.call.max_in_flight_bytes =
    std::max<std::int64_t>(1, peer->max_in_flight_bytes / share);
  o.call.operations = remote->operations;
  o.call.default_idempotency = remote->default_repeat;
  o.target = remote->target;
  o.link = link(remote->node);
  o.owner = owner;
  return spawn_remote_member(*sys_, std::move(o));
}

cluster_node::~cluster_node() {
  stop();
}

void cluster_node::stop() {
  if (sys_ == nullptr)
    return;
  for (auto& [name, l] : links_)
    caf::anon_send_exit(l, caf::exit_reason::user_shutdown);
  links_.clear();
  if (gate_) {
    sys_->middleman().unpublish(gate_, port_);
    caf::anon_send_exit(gate_, caf::exit_reason::user_shutdown);
    gate_ = nullptr;
  }
  // Answers every probe in flight ("prober stopped"); their messages go to
  // links that are gone.
  prober_.reset();
  sys_ = nullptr;
}

std::uint16_t cluster_node::port() const noexcept {
  return port_;
}

caf::actor cluster_node::gate() const {
  return gate_;
}

const std::shared_ptr<cluster_directory>&
cluster_node::directory() const noexcept {
  return directory_;
}

const node_hello& cluster_node::hello() const noexcept {
  return hello_;
}

std::vector<published_entry>
published_entries(const bulwark_config& doc,
                  const std::function<caf::actor(const std::string&)>& alias) {
  std::vector<published_entry> result;
  if (!doc.cluster)
    return result;
  for (auto& name : doc.cluster->publish) {
    if (auto dep = doc.find(name))
      result.push_back(entry_of(*dep, published_kind::dependency, alias(name)));
    else if (auto sup = doc.find_supervisor(name))
      result.push_back(entry_of(*sup, published_kind::supervisor, alias(name)));
  }
  return result;
}

published_entry published_ledger(std::string name, caf::actor owner) {
  published_entry e;
  e.name = std::move(name);
  e.kind = published_kind::ledger;
  e.handle = std::move(owner);
  return e;
}

std::function<caf::actor()>
ledger_locator(std::shared_ptr<cluster_directory> directory, std::string peer,
               std::string name) {
  return [directory{std::move(directory)}, peer{std::move(peer)},
          name{std::move(name)}] {
    return directory->find(peer, name, published_kind::ledger);
  };
}

} // namespace bulwark
