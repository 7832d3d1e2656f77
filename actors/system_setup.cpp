#include "actors/system_setup.hpp"

#include "actors/messages.hpp"
#include "actors/saga/saga_messages.hpp"

namespace bulwark {

void add_bulwark_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<call_request>("bulwark::call_request");
  cfg.add_message_type<call_reply>("bulwark::call_reply");
  cfg.add_message_type<attempt_request>("bulwark::attempt_request");
  cfg.add_message_type<attempt_result>("bulwark::attempt_result");
  cfg.add_message_type<saga_reply>("bulwark::saga_reply");
  cfg.add_message_type<saga_stats>("bulwark::saga_stats");
}

} // namespace bulwark
