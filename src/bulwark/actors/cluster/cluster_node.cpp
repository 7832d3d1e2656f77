#include "bulwark/actors/cluster/cluster_node.hpp"

#include "bulwark/actors/cluster/cluster_setup.hpp"
#include "bulwark/actors/cluster/node_gate.hpp"
#include "bulwark/actors/cluster/peer_link.hpp"
#include "bulwark/actors/cluster/reach_prober.hpp"
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
  for (auto& e : opts.published)
    if (std::find(c.publish.begin(), c.publish.end(), e.name)
        == c.publish.end())
      result.errors.emplace_back("/cluster/publish: \"" + e.name
                                 + "\" is handed in but not listed");
  if (!result.errors.empty())
    return result;
  std::unique_ptr<cluster_node> node{new cluster_node};
  node->sys_ = &sys;
  node->config_ = c;
  node->hello_ = local_hello(c, opts.epoch != 0 ? opts.epoch : random_epoch());
  node->directory_ = std::make_shared<cluster_directory>();
  node->prober_ = std::make_shared<reach_prober>();
  if (c.listen_port) {
    node_gate_options gate_opts;
    gate_opts.local = node->hello_;
    gate_opts.entries = std::move(opts.published);
    node->gate_ = spawn_node_gate(sys, std::move(gate_opts));
    // Bound to the configured address only (127.0.0.1 by default), never
    // to every interface; reuse so a restarted node gets its port back
    // while the old connections sit in TIME_WAIT.
    auto port = sys.middleman().publish(node->gate_, *c.listen_port,
                                        c.listen_host.c_str(), true);
    if (!port) {
      result.errors.emplace_back(
        "/cluster/listen: cannot listen on " + c.listen_host + ":"
        + std::to_string(*c.listen_port) + ": " + sys.render(port.error()));
      caf::anon_send_exit(node->gate_, caf::exit_reason::user_shutdown);
      return result;
    }
    node->port_ = *port;
  }
  std::uint64_t i = 0;
  for (auto& peer : c.peers) {
    peer_link_options link;
    link.peer = peer;
    link.connect = c.connect;
    link.local = node->hello_;
    link.remotes = c.remotes;
    link.prober = node->prober_;
    link.directory = node->directory_;
    link.seed = opts.seed * 1000003 + ++i;
    node->links_.push_back(spawn_peer_link(sys, std::move(link)));
  }
  result.node = std::move(node);
  return result;
}

cluster_node::~cluster_node() {
  stop();
}

void cluster_node::stop() {
  if (sys_ == nullptr)
    return;
  for (auto& l : links_)
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

} // namespace bulwark
