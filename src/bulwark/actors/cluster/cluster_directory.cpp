#include "bulwark/actors/cluster/cluster_directory.hpp"

#include <utility>

namespace bulwark {

void cluster_directory::update(peer_view view) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    auto name = view.name;
    peers_[name] = std::move(view);
  }
  cv_.notify_all();
}

std::map<std::string, peer_view> cluster_directory::peers() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return peers_;
}

peer_view cluster_directory::peer(const std::string& name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = peers_.find(name);
  return i == peers_.end() ? peer_view{} : i->second;
}

caf::actor cluster_directory::find(const std::string& peer,
                                   const std::string& name) const {
  return find(peer, name, std::nullopt);
}

caf::actor cluster_directory::find(const std::string& peer,
                                   const std::string& name,
                                   std::optional<published_kind> kind) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = peers_.find(peer);
  if (i == peers_.end() || i->second.state != peer_link_state::up)
    return {};
  for (auto& e : i->second.entries)
    if (e.name == name)
      return !kind || e.kind == *kind ? e.handle : caf::actor{};
  return {};
}

bool cluster_directory::wait_up(const std::string& peer,
                                std::chrono::milliseconds timeout) const {
  return wait_for(peer, timeout, [](const peer_view& v) {
    return v.state == peer_link_state::up;
  });
}

} // namespace bulwark
