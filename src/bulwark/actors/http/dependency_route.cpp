#include "bulwark/actors/http/dependency_route.hpp"

#include "bulwark/actors/http/call_reply_response.hpp"
#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/actors/protocol/call_messages.hpp"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <variant>

#include <caf/all.hpp>

namespace bulwark {

namespace {

struct pending_request {
  caf::response_promise promise;
  // The service's bridge that asked: preliminary answers go to it.
  caf::actor requester;
};

struct dependency_route_state {
  std::uint64_t next_id = 1;
  std::unordered_map<std::uint64_t, pending_request> pending;
  static inline const char* name = "bulwark.dependency_route";
};

using route_actor = caf::stateful_actor<dependency_route_state>;

service_response failed_answer(std::int32_t status, std::string_view why) {
  auto res = error_reply(status, why);
  res.not_executed = true;
  return res;
}

caf::behavior
dependency_route_actor(route_actor* self, caf::actor dependency,
                       std::shared_ptr<const dependency_route_options> opts) {
  self->monitor(dependency);
  self->set_down_handler([self](const caf::down_msg&) {
    // Every call in flight is lost with the dependency actor: answer each
    // once, then refuse new requests (the service's 503 tells callers to
    // come back; a factory route is not restarted for this).
    for (auto& [id, p] : self->state.pending)
      p.promise.deliver(failed_answer(503, "dependency actor is down"));
    self->state.pending.clear();
    self->become([](service_request&) {
      return failed_answer(503, "dependency actor is down");
    });
  });
  return {
    [self, dependency, opts](service_request& req) -> caf::response_promise {
      // Before make_response_promise: in CAF 0.17 it takes the sender.
      auto requester = caf::actor_cast<caf::actor>(self->current_sender());
      // Before the promise too: an exception escaping here answers this
      // request 500 (the service restarts the route actor); a promise
      // already made would be broken instead, which reads as 503.
      auto payload =
        opts->payload ? opts->payload(req) : route_payload{req.query};
      auto rp = self->make_response_promise();
      if (auto* refused = std::get_if<service_response>(&payload)) {
        rp.deliver(std::move(*refused));
        return rp;
      }
      auto call =
        downstream_call(req, opts->operation,
                        std::get<std::string>(std::move(payload)), opts->key);
      auto id = self->state.next_id++;
      call.id = id;
      call.progressive = opts->progressive;
      if (opts->soft_deadline >= duration{0})
        call.soft_deadline_ns = to_wire_duration(opts->soft_deadline);
      self->state.pending.emplace(id,
                                  pending_request{rp, std::move(requester)});
      // The send form: the final reply comes back as (reply_atom,
      // call_reply), a preliminary one before it as (preliminary_atom, ...).
      self->send(dependency, call_atom::value, std::move(call));
      return rp;
    },
    [self, opts](preliminary_atom, call_reply& r) {
      auto i = self->state.pending.find(r.id);
      if (i == self->state.pending.end() || !i->second.requester)
        return;
      auto res = to_preliminary_response(std::move(r));
      if (res.status == 200)
        res.content_type = opts->content_type;
      self->send(i->second.requester, preliminary_atom::value, std::move(res));
    },
    [self, opts](reply_atom, call_reply& r) {
      auto i = self->state.pending.find(r.id);
      if (i == self->state.pending.end())
        return; // answered already (the dependency went down)
      auto res = to_service_response(std::move(r));
      if (res.status == 200)
        res.content_type = opts->content_type;
      i->second.promise.deliver(std::move(res));
      self->state.pending.erase(i);
    },
  };
}

} // namespace

route_actor_factory dependency_route(caf::actor dependency,
                                     dependency_route_options opts) {
  if (!dependency)
    throw std::invalid_argument("dependency_route: the dependency is null");
  auto shared =
    std::make_shared<const dependency_route_options>(std::move(opts));
  return [dependency, shared](caf::actor_system& sys) {
    return sys.spawn(dependency_route_actor, dependency, shared);
  };
}

} // namespace bulwark
