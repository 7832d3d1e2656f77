#include "bulwark/runtime/saga/saga_core.hpp"

#include <fmt/format.h>

#include "bulwark/runtime/config/duration_text.hpp"
#include "bulwark/runtime/retry/backoff.hpp"

namespace bulwark {

std::string to_string(saga_action_kind x) {
  switch (x) {
    case saga_action_kind::log:
      return "log";
    case saga_action_kind::run_step:
      return "run_step";
    case saga_action_kind::run_compensation:
      return "run_compensation";
    case saga_action_kind::set_timer:
      return "set_timer";
    case saga_action_kind::finish:
      return "finish";
  }
  return "invalid";
}

std::string to_string(saga_phase x) {
  switch (x) {
    case saga_phase::idle:
      return "idle";
    case saga_phase::forward:
      return "forward";
    case saga_phase::compensating:
      return "compensating";
    case saga_phase::finished:
      return "finished";
  }
  return "invalid";
}

namespace {

/// Result data quoted in a failure text is cut here: the data itself is in
/// the log and in the outcome's step list when it matters.
constexpr std::size_t max_quoted_data = 200;

} // namespace

saga_core::saga_core(const saga_config& cfg, std::uint64_t seed)
  : cfg_(&cfg),
    gen_(seed) {
  auto n = cfg.steps.size();
  tries_.assign(n, 0);
  comp_tries_.assign(n, 0);
  may_have_executed_.assign(n, false);
  results_.assign(n, std::string{});
}

// -- events -------------------------------------------------------------------

void saga_core::start(std::string input, time_point now, action_list& out) {
  if (phase_ != saga_phase::idle)
    return;
  saga_record r;
  r.kind = saga_record_kind::started;
  r.data = input;
  input_ = std::move(input);
  phase_ = saga_phase::forward;
  next_ = move{move_kind::step, 0};
  log(std::move(r), out);
  execute(now, out);
}

bool saga_core::on_step_result(std::uint32_t step, std::uint32_t attempt,
                               saga_verdict verdict, std::string data,
                               time_point now, action_list& out) {
  if (phase_ != saga_phase::forward || !out_.active || out_.compensation
      || out_.step != step || out_.attempt != attempt)
    return false;
  saga_record r;
  r.kind = saga_record_kind::step_result;
  r.step = step;
  r.attempt = attempt;
  r.verdict = verdict;
  r.data = std::move(data);
  timer_ = 0; // the try's timeout is void
  apply_step_result(step, attempt, verdict, r.data);
  log(std::move(r), out);
  execute(now, out);
  return true;
}

bool saga_core::on_compensation_result(std::uint32_t step,
                                       std::uint32_t attempt,
                                       saga_verdict verdict, std::string data,
                                       time_point now, action_list& out) {
  if (phase_ != saga_phase::compensating || !out_.active || !out_.compensation
      || out_.step != step || out_.attempt != attempt)
    return false;
  saga_record r;
  r.kind = saga_record_kind::compensation_result;
  r.step = step;
  r.attempt = attempt;
  r.verdict = verdict;
  r.data = std::move(data);
  timer_ = 0;
  apply_compensation_result(step, attempt, verdict, r.data);
  log(std::move(r), out);
  execute(now, out);
  return true;
}

void saga_core::on_timer(std::uint64_t timer, time_point now,
                         action_list& out) {
  if (timer == 0 || timer != timer_)
    return;
  timer_ = 0;
  if (out_.active) {
    auto why = "no verdict within " + format_duration(cfg_->step_timeout);
    if (out_.compensation)
      on_compensation_result(out_.step, out_.attempt, saga_verdict::unknown,
                             std::move(why), now, out);
    else
      on_step_result(out_.step, out_.attempt, saga_verdict::unknown,
                     std::move(why), now, out);
    return;
  }
  if (next_.kind == move_kind::step_later)
    next_.kind = move_kind::step;
  else if (next_.kind == move_kind::compensation_later)
    next_.kind = move_kind::compensation;
  else
    return;
  execute(now, out);
}

// -- rebuilding ---------------------------------------------------------------

bool saga_core::restore(const saga_record& r, std::string& error) {
  auto n = cfg_->steps.size();
  auto name = [&] {
    return r.step < n ? "\"" + cfg_->steps[r.step].name + "\""
                      : "#" + std::to_string(r.step);
  };
  auto out_of_order = [&] {
    error =
      fmt::format("{} record of step {} try {} does not follow the "
                  "records before it (phase {})",
                  to_string(r.kind), name(), r.attempt, to_string(phase_));
    return false;
  };
  switch (r.kind) {
    case saga_record_kind::started:
      if (phase_ != saga_phase::idle) {
        error = "a second started record";
        return false;
      }
      input_ = r.data;
      phase_ = saga_phase::forward;
      next_ = move{move_kind::step, 0};
      return true;
    case saga_record_kind::step_started:
      if (phase_ != saga_phase::forward || out_.active || r.step >= n
          || (next_.kind != move_kind::step
              && next_.kind != move_kind::step_later)
          || next_.step != r.step || r.attempt != tries_[r.step] + 1)
        return out_of_order();
      tries_[r.step] = r.attempt;
      out_ = try_ref{true, false, r.step, r.attempt};
      next_ = move{};
      return true;
    case saga_record_kind::step_result:
      if (phase_ != saga_phase::forward || !out_.active || out_.compensation
          || out_.step != r.step || out_.attempt != r.attempt)
        return out_of_order();
      apply_step_result(r.step, r.attempt, r.verdict, r.data);
      return true;
    case saga_record_kind::compensation_started:
      if (phase_ != saga_phase::compensating || out_.active || r.step >= n
          || (next_.kind != move_kind::compensation
              && next_.kind != move_kind::compensation_later)
          || next_.step != r.step || r.attempt != comp_tries_[r.step] + 1)
        return out_of_order();
      comp_tries_[r.step] = r.attempt;
      out_ = try_ref{true, true, r.step, r.attempt};
      next_ = move{};
      return true;
    case saga_record_kind::compensation_result:
      if (phase_ != saga_phase::compensating || !out_.active
          || !out_.compensation || out_.step != r.step
          || out_.attempt != r.attempt)
        return out_of_order();
      apply_compensation_result(r.step, r.attempt, r.verdict, r.data);
      return true;
    case saga_record_kind::finished:
      if (!r.outcome.finished()) {
        error = "a finished record with status running";
        return false;
      }
      // Alone (compaction keeps only this of a finished saga), or where the
      // records before it ended the saga, with the status they decided.
      if (phase_ != saga_phase::idle
          && (next_.kind != move_kind::finish
              || next_.status != r.outcome.status)) {
        error = fmt::format("a finished record ({}) where the records before "
                            "it do not end the saga that way (phase {})",
                            to_string(r.outcome.status), to_string(phase_));
        return false;
      }
      outcome_ = r.outcome;
      phase_ = saga_phase::finished;
      out_ = try_ref{};
      next_ = move{};
      timer_ = 0;
      return true;
  }
  error = "a record of unknown kind";
  return false;
}

void saga_core::resume(time_point now, action_list& out) {
  if (phase_ == saga_phase::idle || phase_ == saga_phase::finished)
    return;
  if (out_.active) {
    // Started, never recorded as ended: it may have taken effect.
    std::string why = "interrupted: no verdict was recorded before a restart";
    if (out_.compensation)
      on_compensation_result(out_.step, out_.attempt, saga_verdict::unknown,
                             std::move(why), now, out);
    else
      on_step_result(out_.step, out_.attempt, saga_verdict::unknown,
                     std::move(why), now, out);
    return;
  }
  execute(now, out);
}

// -- state updates ------------------------------------------------------------

void saga_core::apply_step_result(std::uint32_t step, std::uint32_t attempt,
                                  saga_verdict v, const std::string& data) {
  out_ = try_ref{};
  auto& sc = cfg_->steps[step];
  auto n = static_cast<std::uint32_t>(cfg_->steps.size());
  if (v == saga_verdict::done) {
    may_have_executed_[step] = true;
    results_[step] = data;
    outcome_.steps.push_back(saga_step_data{sc.name, data});
    if (!sc.compensable)
      forward_only_ = true;
    next_ = step + 1 < n
              ? move{move_kind::step, step + 1}
              : move{move_kind::finish, step, saga_status::completed};
    return;
  }
  if (v == saga_verdict::unknown)
    may_have_executed_[step] = true;
  outcome_.failure = describe(step, attempt, v, data);
  outcome_.failed_step = sc.name;
  if (!forward_only_) {
    if (sc.compensable) {
      // Undo what may have happened, this step included when it may have.
      begin_compensation(step, may_have_executed_[step]);
      return;
    }
    if (!may_have_executed_[step]) {
      // The pivot never ran on any try: the saga can still be undone.
      begin_compensation(step, false);
      return;
    }
  }
  // The pivot may have executed, or is done: forward only.
  if (tries_[step] < sc.max_tries) {
    next_ = move{move_kind::step_later, step};
    return;
  }
  outcome_.failure = fmt::format("{} did not complete in {} tries (last: {})",
                                 sc.name, tries_[step], outcome_.failure);
  next_ = move{move_kind::finish, step, saga_status::stuck};
}

void saga_core::begin_compensation(std::uint32_t failed, bool include_failed) {
  phase_ = saga_phase::compensating;
  to_compensate_.clear();
  comp_pos_ = 0;
  if (include_failed)
    to_compensate_.push_back(failed);
  for (auto j = failed; j-- > 0;)
    if (may_have_executed_[j] && cfg_->steps[j].compensable)
      to_compensate_.push_back(j);
  next_ = to_compensate_.empty()
            ? move{move_kind::finish, failed, saga_status::compensated}
            : move{move_kind::compensation, to_compensate_.front()};
}

void saga_core::apply_compensation_result(std::uint32_t step,
                                          std::uint32_t attempt, saga_verdict v,
                                          const std::string& data) {
  out_ = try_ref{};
  auto& name = cfg_->steps[step].name;
  if (v == saga_verdict::done) {
    outcome_.compensations.push_back(saga_step_data{name, data});
    ++comp_pos_;
    next_ = comp_pos_ < to_compensate_.size()
              ? move{move_kind::compensation, to_compensate_[comp_pos_]}
              : move{move_kind::finish, step, saga_status::compensated};
    return;
  }
  if (comp_tries_[step] < cfg_->max_compensation_tries) {
    next_ = move{move_kind::compensation_later, step};
    return;
  }
  outcome_.failed_compensation = name;
  outcome_.failure +=
    fmt::format("; compensation of {} failed {} tries "
                "(last: {})",
                name, comp_tries_[step], describe(step, attempt, v, data));
  next_ = move{move_kind::finish, step, saga_status::compensation_failed};
}

// -- acting -------------------------------------------------------------------

void saga_core::execute(time_point now, action_list& out) {
  auto m = next_;
  switch (m.kind) {
    case move_kind::none:
      return;
    case move_kind::step:
    case move_kind::compensation: {
      bool comp = m.kind == move_kind::compensation;
      next_ = move{};
      auto attempt = comp ? ++comp_tries_[m.step] : ++tries_[m.step];
      out_ = try_ref{true, comp, m.step, attempt};
      saga_record r;
      r.kind = comp ? saga_record_kind::compensation_started
                    : saga_record_kind::step_started;
      r.step = m.step;
      r.attempt = attempt;
      log(std::move(r), out);
      saga_action a;
      a.kind =
        comp ? saga_action_kind::run_compensation : saga_action_kind::run_step;
      a.step = m.step;
      a.attempt = attempt;
      out.push_back(std::move(a));
      set_timer(now + cfg_->step_timeout, out);
      return;
    }
    case move_kind::step_later:
    case move_kind::compensation_later: {
      bool comp = m.kind == move_kind::compensation_later;
      auto& b = comp ? cfg_->compensation_backoff : cfg_->forward_backoff;
      auto retry = comp ? comp_tries_[m.step] : tries_[m.step];
      prev_delay_ = next_backoff(b, retry, prev_delay_, gen_);
      set_timer(now + prev_delay_, out);
      return;
    }
    case move_kind::finish:
      next_ = move{};
      finish(m.status, out);
      return;
  }
}

void saga_core::log(saga_record r, action_list& out) {
  saga_action a;
  a.kind = saga_action_kind::log;
  a.record = std::move(r);
  out.push_back(std::move(a));
}

void saga_core::set_timer(time_point at, action_list& out) {
  timer_ = ++timer_seq_;
  saga_action a;
  a.kind = saga_action_kind::set_timer;
  a.at = at;
  a.timer = timer_;
  out.push_back(std::move(a));
}

void saga_core::finish(saga_status status, action_list& out) {
  outcome_.status = status;
  if (status == saga_status::completed) {
    // A pivot retried after an `unknown` try completed after all.
    outcome_.failure.clear();
    outcome_.failed_step.clear();
  }
  phase_ = saga_phase::finished;
  timer_ = 0;
  saga_record r;
  r.kind = saga_record_kind::finished;
  r.outcome = outcome_;
  log(std::move(r), out);
  saga_action a;
  a.kind = saga_action_kind::finish;
  out.push_back(std::move(a));
}

std::string saga_core::describe(std::uint32_t step, std::uint32_t attempt,
                                saga_verdict v, const std::string& data) const {
  auto text =
    fmt::format("{} try {}: {}", cfg_->steps[step].name, attempt, to_string(v));
  if (!data.empty()) {
    text += ": ";
    text.append(data, 0, max_quoted_data);
    if (data.size() > max_quoted_data)
      text += "...";
  }
  return text;
}

} // namespace bulwark
