#include "bulwark/actors/host/service_registry.hpp"

#include <utility>

#include <caf/actor_cast.hpp>

namespace bulwark {

service_registry::service_registry(
  std::shared_ptr<const bulwark_config> document)
  : document_(std::move(document)) {
  // nop
}

std::shared_ptr<const bulwark_config> service_registry::document() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return document_;
}

void service_registry::set_document(
  std::shared_ptr<const bulwark_config> document) {
  document_listener f;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    document_ = document;
    f = listener_;
  }
  if (f)
    f(document);
}

void service_registry::on_document(document_listener f) {
  std::lock_guard<std::mutex> guard{mtx_};
  listener_ = std::move(f);
}

std::map<std::string, dependency_actor> service_registry::dependencies() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::map<std::string, dependency_actor> result;
  for (auto& [name, e] : deps_)
    if (e.handle)
      result.emplace(name, caf::actor_cast<dependency_actor>(e.handle));
  return result;
}

std::map<std::string, supervisor_actor> service_registry::supervisors() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::map<std::string, supervisor_actor> result;
  for (auto& [name, e] : sups_)
    if (e.handle)
      result.emplace(name, caf::actor_cast<supervisor_actor>(e.handle));
  return result;
}

caf::actor service_registry::dependency(const std::string& name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = deps_.find(name);
  return i == deps_.end() ? caf::actor{} : i->second.handle;
}

caf::actor service_registry::supervisor(const std::string& name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = sups_.find(name);
  return i == sups_.end() ? caf::actor{} : i->second.handle;
}

caf::actor service_registry::transport(const std::string& name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  auto i = deps_.find(name);
  return i == deps_.end() ? caf::actor{} : i->second.transport;
}

std::map<std::string, caf::actor> service_registry::transports() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::map<std::string, caf::actor> result;
  for (auto& [name, e] : deps_)
    if (e.transport)
      result.emplace(name, e.transport);
  return result;
}

std::uint64_t service_registry::incarnation(const std::string& name) const {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = deps_.find(name); i != deps_.end())
    return i->second.incarnation;
  if (auto i = sups_.find(name); i != sups_.end())
    return i->second.incarnation;
  return 0;
}

void service_registry::update_dependency(
  const std::string& name, const std::function<void(dependency_entry&)>& f) {
  std::lock_guard<std::mutex> guard{mtx_};
  f(deps_[name]);
}

void service_registry::update_supervisor(
  const std::string& name, const std::function<void(supervisor_entry&)>& f) {
  std::lock_guard<std::mutex> guard{mtx_};
  f(sups_[name]);
}

void service_registry::set_http_service(const std::string& name,
                                        http_service_probe probe) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (probe)
    services_[name] = std::move(probe);
  else
    services_.erase(name);
}

std::vector<std::pair<std::string, http_service_stats>>
service_registry::http_services() const {
  std::map<std::string, http_service_probe> probes;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    probes = services_;
  }
  std::vector<std::pair<std::string, http_service_stats>> result;
  result.reserve(probes.size());
  for (auto& [name, probe] : probes)
    result.emplace_back(name, probe());
  return result;
}

void service_registry::set_host_actor(const std::string& kind,
                                      const std::string& name,
                                      const host_actor_stats& stats) {
  std::lock_guard<std::mutex> guard{mtx_};
  host_actors_[{kind, name}] = stats;
}

std::vector<service_registry::host_actor>
service_registry::host_actors() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<host_actor> result;
  result.reserve(host_actors_.size());
  for (auto& [key, stats] : host_actors_)
    result.push_back(host_actor{key.first, key.second, stats});
  return result;
}

} // namespace bulwark
