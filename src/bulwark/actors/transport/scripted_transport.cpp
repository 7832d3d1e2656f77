#include "bulwark/actors/transport/scripted_transport.hpp"

#include "bulwark/actors/protocol/atoms.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

namespace bulwark {

// -- transport_script ---------------------------------------------------------

void transport_script::push(attempt_result result, duration delay) {
  std::lock_guard<std::mutex> guard{mtx_};
  steps_.push_back(step{std::move(result), delay});
}

void transport_script::push_hold() {
  std::lock_guard<std::mutex> guard{mtx_};
  steps_.push_back(step{std::nullopt, duration{0}});
}

void transport_script::set_default_answer(attempt_result result,
                                          duration delay) {
  std::lock_guard<std::mutex> guard{mtx_};
  default_ = step{std::move(result), delay};
}

void transport_script::clear_default_answer() {
  std::lock_guard<std::mutex> guard{mtx_};
  default_.reset();
}

std::vector<scripted_attempt> transport_script::attempts() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return attempts_;
}

std::size_t transport_script::attempt_count() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return attempts_.size();
}

std::vector<std::uint64_t> transport_script::held() const {
  std::lock_guard<std::mutex> guard{mtx_};
  std::vector<std::uint64_t> result;
  for (auto& x : attempts_)
    if (x.held && !x.answered)
      result.push_back(x.request.attempt_id);
  return result;
}

std::vector<std::uint64_t> transport_script::cancelled() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return cancelled_;
}

std::size_t transport_script::steps_left() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return steps_.size();
}

std::pair<std::size_t, transport_script::step>
transport_script::on_attempt(attempt_request req, caf::actor_addr sender,
                             time_point now) {
  std::lock_guard<std::mutex> guard{mtx_};
  step next;
  if (!steps_.empty()) {
    next = std::move(steps_.front());
    steps_.pop_front();
  } else if (default_) {
    next = *default_;
  }
  scripted_attempt rec;
  rec.request = std::move(req);
  rec.sender = std::move(sender);
  rec.received_at = now;
  rec.held = !next.result.has_value();
  attempts_.push_back(std::move(rec));
  return {attempts_.size() - 1, std::move(next)};
}

std::optional<scripted_attempt>
transport_script::take_for_answer(std::uint64_t attempt_id) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& x : attempts_)
    if (x.request.attempt_id == attempt_id && !x.answered) {
      x.answered = true;
      return x;
    }
  return std::nullopt;
}

std::optional<scripted_attempt> transport_script::take_index(std::size_t i) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (i >= attempts_.size() || attempts_[i].answered)
    return std::nullopt;
  attempts_[i].answered = true;
  return attempts_[i];
}

void transport_script::on_cancel(std::uint64_t attempt_id) {
  std::lock_guard<std::mutex> guard{mtx_};
  cancelled_.push_back(attempt_id);
  for (auto& x : attempts_)
    if (x.request.attempt_id == attempt_id)
      x.cancelled = true;
}

// -- the actor ----------------------------------------------------------------

namespace {

void deliver(caf::event_based_actor* self, const scripted_attempt& rec,
             attempt_result result) {
  result.attempt_id = rec.request.attempt_id;
  if (result.latency_ns == 0)
    result.latency_ns = to_wire_duration(self->clock().now() - rec.received_at);
  if (auto to = caf::actor_cast<caf::actor>(rec.sender))
    self->send(to, result_atom::value, std::move(result));
}

} // namespace

caf::behavior
scripted_transport_actor(caf::event_based_actor* self,
                         std::shared_ptr<transport_script> script) {
  return {
    [self, script](attempt_atom, attempt_request& req) {
      auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
      auto [index, next] = script->on_attempt(std::move(req), std::move(sender),
                                              self->clock().now());
      if (!next.result)
        return;
      if (next.delay <= duration{0}) {
        if (auto rec = script->take_index(index))
          deliver(self, *rec, std::move(*next.result));
        return;
      }
      self->delayed_send(self, next.delay, deliver_atom::value,
                         static_cast<std::uint64_t>(index),
                         std::move(*next.result));
    },
    [self, script](deliver_atom, std::uint64_t index, attempt_result& result) {
      // Already answered explicitly by the test: the scheduled answer is void.
      if (auto rec = script->take_index(static_cast<std::size_t>(index)))
        deliver(self, *rec, std::move(result));
    },
    [self, script](answer_atom, std::uint64_t attempt_id,
                   attempt_result& result) {
      if (auto rec = script->take_for_answer(attempt_id))
        deliver(self, *rec, std::move(result));
    },
    [script](cancel_atom, std::uint64_t attempt_id) {
      script->on_cancel(attempt_id);
    },
  };
}

// -- scripted_transport -------------------------------------------------------

scripted_transport scripted_transport::spawn(caf::actor_system& sys) {
  auto script = std::make_shared<transport_script>();
  auto hdl = sys.spawn(scripted_transport_actor, script);
  return scripted_transport{std::move(hdl), std::move(script)};
}

void scripted_transport::answer(std::uint64_t attempt_id,
                                attempt_result result) const {
  caf::anon_send(handle_, answer_atom::value, attempt_id, std::move(result));
}

bool scripted_transport::answer_oldest(attempt_result result) const {
  auto ids = script_->held();
  if (ids.empty())
    return false;
  answer(ids.front(), std::move(result));
  return true;
}

} // namespace bulwark
