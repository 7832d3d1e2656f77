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

/// Answers a call nobody runs for, at once: never executed.
void refuse(caf::event_based_actor* self, const std::string& name,
            const call_request& req) {
  call_reply r;
  r.id = req.id;
  r.journey_id = req.journey_id;
  r.cls = failure_class::rejected_locally;
  r.message = "\"" + name + "\" is not running";
  auto& to = self->current_sender();
  auto mid = self->current_message_id();
  if (to)
    to->enqueue(caf::make_mailbox_element(caf::strong_actor_ptr{self->ctrl()},
                                          mid.response_id(), {},
                                          reply_atom::value, std::move(r)),
                self->context());
  // A request form caller got its answer above: no empty response.
  self->drop_current_message_id();
}

caf::behavior live_alias(caf::event_based_actor* self,
                         service_registry_ptr registry, std::string name) {
  // Control messages (config, stats, flags, journeys, ...) go to the live
  // incarnation as they are, sender and request id kept, so a peer that
  // holds the alias reaches whatever runs now; with nothing running, a
  // request is answered with an error instead of silence.
  self->set_default_handler(
    [registry, name](caf::scheduled_actor* ptr,
                     caf::message_view& x) -> caf::result<caf::message> {
      auto target = resolve(*registry, name);
      if (!target)
        return caf::make_error(caf::sec::invalid_argument,
                               "\"" + name + "\" is not running");
      target->enqueue(caf::make_mailbox_element(ptr->current_sender(),
                                                ptr->current_message_id(), {},
                                                x.move_content_to_message()),
                      ptr->context());
      ptr->drop_current_message_id();
      return caf::delegated<caf::message>{};
    });
  return {
    [self, registry, name](call_atom, call_request& req) {
      if (auto target = resolve(*registry, name))
        // Keeps sender and message id: the answer skips the alias.
        self->delegate(target, call_atom::value, std::move(req));
      else
        refuse(self, name, req);
    },
    [self, registry, name](rcall_atom, call_request& req) {
      if (auto target = resolve(*registry, name))
        self->delegate(target, rcall_atom::value, std::move(req));
      else
        refuse(self, name, req);
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
