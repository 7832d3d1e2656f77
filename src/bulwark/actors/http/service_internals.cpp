#include "bulwark/actors/http/service_internals.hpp"

#include <algorithm>
#include <charconv>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <boost/beast/core/string.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <caf/all.hpp>

#include "bulwark/actors/protocol/atoms.hpp"
#include "bulwark/runtime/core/utf8.hpp"

namespace bulwark::service_detail {

namespace {

bool is_reason_token(std::string_view x) {
  if (x.empty() || x.size() > 32)
    return false;
  return std::all_of(x.begin(), x.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

/// One answer as a single-line JSON document: `{"preliminary": .., "status":
/// .., ["reason": .., "age_ms": ..,] "body": ..}`. A JSON body is embedded
/// as a value, any other body as a string; serialization escapes CR and LF,
/// so a body can never break the line (or the SSE event) it travels in.
std::string progressive_document(const http_response& res,
                                 const preliminary_info* info) {
  boost::json::object doc;
  doc["preliminary"] = info != nullptr;
  doc["status"] = res.result_int();
  if (info) {
    doc["reason"] = info->reason;
    if (info->age_ms >= 0)
      doc["age_ms"] = info->age_ms;
    else
      doc["age_ms"] = nullptr;
  }
  auto ct = res[http::field::content_type];
  std::string_view type{ct.data(), ct.size()};
  bool embedded = false;
  if (boost::beast::iequals(type.substr(0, 16), "application/json")) {
    boost::system::error_code ec;
    auto v = boost::json::parse(res.body(), ec);
    if (!ec) {
      doc["body"] = std::move(v);
      embedded = true;
    }
  }
  if (!embedded)
    doc["body"] = res.body();
  return boost::json::serialize(doc);
}

} // namespace

// -- responses ------------------------------------------------------------------

service_response service_error(std::int32_t status, std::string_view message) {
  return error_reply(status, message);
}

recorded_response answer_of(const service_response& x) {
  auto r = record_of(x);
  if (r.status < 100 || r.status > 999)
    r.status = 500;
  return r;
}

http_response to_http(const recorded_response& r) {
  http_response res;
  res.version(11);
  res.result(static_cast<unsigned>(r.status));
  if (!r.content_type.empty())
    res.set(http::field::content_type, r.content_type);
  for (auto& [name, value] : r.headers)
    res.insert(name, value);
  res.body() = r.body;
  return res;
}

http_response to_http(const service_response& x) {
  return to_http(answer_of(x));
}

// -- progressive answers ----------------------------------------------------------

preliminary_info take_preliminary_info(service_response& res) {
  preliminary_info info;
  auto& hs = res.headers;
  auto i = std::find_if(hs.begin(), hs.end(), [](const auto& h) {
    return boost::beast::iequals(h.first, preliminary_header);
  });
  if (i == hs.end())
    return info;
  std::string_view value = i->second;
  auto semi = value.find(';');
  auto reason = value.substr(0, semi);
  while (!reason.empty() && reason.back() == ' ')
    reason.remove_suffix(1);
  if (is_reason_token(reason))
    info.reason = std::string{reason};
  if (semi != std::string_view::npos) {
    auto rest = value.substr(semi + 1);
    while (!rest.empty() && rest.front() == ' ')
      rest.remove_prefix(1);
    if (rest.substr(0, 4) == "age=") {
      auto digits = rest.substr(4);
      std::int64_t ms = 0;
      auto [end, ec] =
        std::from_chars(digits.data(), digits.data() + digits.size(), ms);
      if (ec == std::errc{} && end == digits.data() + digits.size()
          && !digits.empty() && ms >= 0)
        info.age_ms = ms;
    }
  }
  hs.erase(std::remove_if(hs.begin(), hs.end(),
                          [](const auto& h) {
                            return boost::beast::iequals(h.first,
                                                         preliminary_header);
                          }),
           hs.end());
  return info;
}

std::string stream_piece(answer_mode mode, const http_response& res,
                         const preliminary_info* info) {
  auto doc = progressive_document(res, info);
  if (mode == answer_mode::sse)
    return std::string{"event: "} + (info ? "preliminary" : "final")
           + "\ndata: " + doc + "\n\n";
  return doc + "\n";
}

http_response stream_head(answer_mode mode) {
  http_response head{http::status::ok, 11};
  head.set(http::field::content_type, mode == answer_mode::sse
                                        ? "text/event-stream"
                                        : "application/x-ndjson");
  head.set(http::field::cache_control, "no-store");
  return head;
}

// -- route cells: the live incarnation of a route's actor -----------------------

std::string safe_text(std::string_view x) {
  constexpr std::size_t max_len = 200;
  return printable_utf8(x, max_len);
}

// -- bridge: one short-lived actor per call of a route actor --------------------

caf::behavior bridge_actor(caf::event_based_actor* self, caf::actor anchor,
                           caf::actor target, service_request req,
                           duration timeout, call_callback done,
                           preliminary_callback on_preliminary) {
  auto finished = std::make_shared<bool>(false);
  auto finish = [self, done, finished, anchor_addr = anchor.address(),
                 target_addr = target.address()](call_end how,
                                                 service_response res) {
    if (*finished)
      return;
    *finished = true;
    done(how, std::move(res));
    self->demonitor(anchor_addr);
    self->demonitor(target_addr);
    self->quit();
  };
  self->monitor(anchor);
  self->monitor(target);
  self->set_down_handler(
    [finish, anchor_addr = anchor.address()](caf::down_msg& msg) {
      if (msg.source == anchor_addr)
        finish(call_end::shut_down, {});
      else
        finish(call_end::down, {});
    });
  self->request(target, timeout, std::move(req))
    .then(
      [finish](service_response& res) {
        finish(call_end::answered, std::move(res));
      },
      [finish](caf::error& err) {
        if (err == caf::sec::request_timeout)
          finish(call_end::timed_out, {});
        else if (err == caf::sec::request_receiver_down)
          finish(call_end::down, {});
        else
          finish(call_end::failed,
                 error_reply(500, "route actor failed: "
                                    + safe_text(to_string(err))));
      });
  // Keeps the actor alive until `finish` quits it. A route actor's
  // preliminary answer (before its response) is passed on; the core sends
  // at most one per request, and none after the final.
  return {[](svc_nop_atom) {},
          [finished, on_preliminary](preliminary_atom, service_response& res) {
            if (!*finished && on_preliminary)
              on_preliminary(std::move(res));
          }};
}

preliminary_callback relay_preliminary(const core_ptr& core, std::uint64_t id,
                                       bool progressive) {
  if (!progressive)
    return {};
  return
    [core, id](service_response r) { core->preliminary(id, std::move(r)); };
}

void finish_call(service_core& core, std::uint64_t id, call_end how,
                 service_response res) {
  switch (how) {
    case call_end::answered:
      core.finish(id, res);
      return;
    case call_end::failed:
      core.finish(id, res, &core.count.route_failures);
      return;
    case call_end::timed_out:
      core.finish_late(id);
      return;
    case call_end::down:
      core.finish(id, core.unavailable_answer("route actor is not running"),
                  &core.count.unavailable);
      return;
    case call_end::shut_down:
      core.finish(id, core.unavailable_answer("service is shutting down"),
                  &core.count.shut_down);
      return;
  }
}

std::string to_string(answer_mode x) {
  switch (x) {
    case answer_mode::final_only:
      return "final_only";
    case answer_mode::sse:
      return "sse";
    case answer_mode::ndjson:
      return "ndjson";
    case answer_mode::final_link:
      return "final_link";
  }
  return "invalid";
}

std::string to_string(call_end x) {
  switch (x) {
    case call_end::answered:
      return "answered";
    case call_end::timed_out:
      return "timed_out";
    case call_end::down:
      return "down";
    case call_end::shut_down:
      return "shut_down";
    case call_end::failed:
      return "failed";
  }
  return "invalid";
}

std::string to_string(final_store::state x) {
  switch (x) {
    case final_store::state::unknown:
      return "unknown";
    case final_store::state::pending:
      return "pending";
    case final_store::state::ready:
      return "ready";
  }
  return "invalid";
}

std::string to_string(service_core::admission x) {
  switch (x) {
    case service_core::admission::admitted:
      return "admitted";
    case service_core::admission::overloaded:
      return "overloaded";
    case service_core::admission::stopping:
      return "stopping";
  }
  return "invalid";
}

} // namespace bulwark::service_detail
