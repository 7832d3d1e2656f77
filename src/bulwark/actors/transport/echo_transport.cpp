#include "bulwark/actors/transport/echo_transport.hpp"

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/protocol/attempt_messages.hpp"

#include <caf/actor_cast.hpp>

namespace bulwark {

caf::behavior echo_transport(caf::event_based_actor* self) {
  return {
    [self](attempt_atom, attempt_request& req) {
      auto to = caf::actor_cast<caf::actor>(self->current_sender());
      if (!to)
        return;
      auto result = success_result(std::move(req.payload));
      result.attempt_id = req.attempt_id;
      self->send(to, result_atom::value, std::move(result));
    },
    [](cancel_atom, std::uint64_t) {
      // Answers are immediate: nothing is ever in flight to cancel.
    },
  };
}

caf::actor spawn_echo_transport(caf::actor_system& sys) {
  return sys.spawn(echo_transport);
}

} // namespace bulwark
