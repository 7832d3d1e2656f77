#include "actors/system_setup.hpp"

#include "actors/messages.hpp"

namespace bulwark {

void add_bulwark_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<call_request>("bulwark::call_request");
  cfg.add_message_type<call_reply>("bulwark::call_reply");
  cfg.add_message_type<attempt_request>("bulwark::attempt_request");
  cfg.add_message_type<attempt_result>("bulwark::attempt_result");
}

} // namespace bulwark
