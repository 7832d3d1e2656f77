#include "bulwark/actors/transport/function_transport.hpp"

#include "bulwark/actors/protocol/atoms.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include <atomic>
#include <exception>
#include <memory>
#include <string>

namespace bulwark {

namespace {

attempt_result exception_result(std::exception_ptr ep) {
  auto result = class_result(failure_class::transient);
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    result.payload = e.what();
  } catch (...) {
    result.payload = "unknown exception";
  }
  return result;
}

// Shared by every copy of one attempt's completion: the flag makes only the
// first call count, whichever thread makes it.
struct completion_state {
  completion_state(caf::actor_addr requester, std::uint64_t attempt_id)
    : requester(std::move(requester)),
      attempt_id(attempt_id) {
    // nop
  }

  std::atomic<bool> done{false};
  caf::actor_addr requester;
  std::uint64_t attempt_id;
};

} // namespace

caf::behavior function_transport(caf::event_based_actor* self,
                                 attempt_function fn) {
  return {
    [self, fn{std::move(fn)}](attempt_atom, const attempt_request& req) {
      auto to = caf::actor_cast<caf::actor>(self->current_sender());
      if (!to)
        return;
      attempt_result result;
      try {
        result = fn(req);
      } catch (...) {
        result = exception_result(std::current_exception());
      }
      result.attempt_id = req.attempt_id;
      self->send(to, result_atom::value, std::move(result));
    },
    [](cancel_atom, std::uint64_t) {
      // A sync function cannot be interrupted: the hint has nothing to stop.
    },
  };
}

caf::behavior async_function_transport(caf::event_based_actor* self,
                                       async_attempt_function fn) {
  return {
    [self, fn{std::move(fn)}](attempt_atom, const attempt_request& req) {
      auto state = std::make_shared<completion_state>(
        caf::actor_cast<caf::actor_addr>(self->current_sender()),
        req.attempt_id);
      attempt_completion complete = [state](attempt_result result) {
        if (state->done.exchange(true))
          return;
        result.attempt_id = state->attempt_id;
        if (auto to = caf::actor_cast<caf::actor>(state->requester))
          caf::anon_send(to, result_atom::value, std::move(result));
      };
      try {
        fn(req, complete);
      } catch (...) {
        complete(exception_result(std::current_exception()));
      }
    },
    [](cancel_atom, std::uint64_t) {
      // The function owns the attempt now; it has no cancellation hook.
    },
  };
}

caf::actor spawn_function_transport(caf::actor_system& sys,
                                    attempt_function fn) {
  return sys.spawn(function_transport, std::move(fn));
}

caf::actor spawn_async_function_transport(caf::actor_system& sys,
                                          async_attempt_function fn) {
  return sys.spawn(async_function_transport, std::move(fn));
}

} // namespace bulwark
