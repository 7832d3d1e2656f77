#include "bulwark/actors/host/live_alias.hpp"

#include <utility>

#include <caf/all.hpp>

namespace bulwark {

namespace {

caf::actor resolve(const service_registry& registry, const std::string& name) {
  if (auto dep = registry.dependency(name))
    return dep;
  return registry.supervisor(name);
}

caf::behavior live_alias(caf::event_based_actor* self,
                         service_registry_ptr registry, std::string name) {
  return {
    [self, registry, name](call_atom, call_request& req) {
      auto target = resolve(*registry, name);
      if (target) {
        // Keeps sender and message id: the answer skips the alias.
        self->delegate(target, call_atom::value, std::move(req));
        return;
      }
      call_reply r;
      r.id = req.id;
      r.journey_id = req.journey_id;
      r.cls = failure_class::rejected_locally;
      r.message = "\"" + name + "\" is not running";
      auto& to = self->current_sender();
      auto mid = self->current_message_id();
      if (to)
        to->enqueue(caf::make_mailbox_element(
                      caf::strong_actor_ptr{self->ctrl()}, mid.response_id(),
                      {}, reply_atom::value, std::move(r)),
                    self->context());
      // A request form caller got its answer above: no empty response.
      self->drop_current_message_id();
    },
    [self, registry, name](cancel_atom, std::uint64_t id) {
      if (auto target = resolve(*registry, name))
        self->delegate(target, cancel_atom::value, id);
    },
  };
}

} // namespace

caf::actor spawn_live_alias(caf::actor_system& sys,
                            service_registry_ptr registry, std::string name) {
  return sys.spawn(live_alias, std::move(registry), std::move(name));
}

} // namespace bulwark
