// A request template for load generators: a text (a body, a path, a header
// value) with placeholders that make every request distinct, so that a
// service with an idempotency ledger executes each one instead of answering
// duplicates. `{seq}` is the request's sequence number in the run, `{uuid}` a
// random version-4 UUID per request (from the run's seeded generator), and
// `{run}` the run's id (the same for every request of a run; it keeps keys of
// two runs apart). Any other brace is literal, so JSON bodies need no
// escaping; a lowercase word in braces that is not a placeholder (`{sqe}`) is
// refused as a likely typo. Expansions are visible ASCII only, so a template
// whose literal text is a valid key expands to valid keys.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/runtime/core/rng.hpp"

namespace bulwark {

enum class template_placeholder : std::uint8_t { seq, uuid, run };

/// @relates template_placeholder
std::string to_string(template_placeholder x);

class request_template {
 public:
  /// Templates longer than this are refused.
  static constexpr std::size_t max_bytes = 1 << 20;

  /// A template with no placeholders that expands to "".
  request_template() = default;

  /// Parses `text`; on a problem returns nullopt and sets `error` (which
  /// names the byte position and never quotes more than the placeholder).
  static std::optional<request_template> parse(std::string_view text,
                                               std::string& error);

  /// Appends the expansion for request `seq` to `out`. `{uuid}` draws 128
  /// bits from `gen` per occurrence; nothing else draws.
  void expand_into(std::string& out, std::uint64_t seq, rng& gen,
                   std::string_view run_id) const;

  std::string expand(std::uint64_t seq, rng& gen,
                     std::string_view run_id) const {
    std::string out;
    expand_into(out, seq, gen, run_id);
    return out;
  }

  /// Whether the template contains `p`.
  bool uses(template_placeholder p) const noexcept;

  /// The literal text between placeholders, in order (for validation).
  std::vector<std::string_view> literals() const;

  bool empty() const noexcept {
    return parts_.empty();
  }

 private:
  struct part {
    bool placeholder = false;
    template_placeholder which = template_placeholder::seq;
    std::string text;
  };
  std::vector<part> parts_;
};

/// A random version-4 UUID in its 36-character form, drawn from `gen`.
std::string format_uuid(rng& gen);

/// Appends the UUID form of two 64-bit draws from `gen` to `out`.
void append_uuid(std::string& out, rng& gen);

} // namespace bulwark
