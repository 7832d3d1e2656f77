#include "bulwark/runtime/journey/journey_dot.hpp"

#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "bulwark/runtime/journey/journey_state.hpp"

using namespace bulwark;

namespace {

std::string read_source_file(const std::string& rel) {
  std::ifstream in{std::string{BULWARK_SOURCE_DIR} + "/" + rel};
  INFO("reading " << rel);
  REQUIRE(in.good());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The text of the first ```dot fenced block.
std::string dot_block(const std::string& markdown) {
  const std::string open = "```dot\n";
  auto begin = markdown.find(open);
  if (begin == std::string::npos)
    return {};
  begin += open.size();
  auto end = markdown.find("\n```", begin - 1);
  if (end == std::string::npos)
    return {};
  return markdown.substr(begin, end + 1 - begin);
}

} // namespace

TEST_CASE("docs/journey.md embeds exactly the diagram journey_dot() draws",
          "[runtime][journey][docs]") {
  auto doc = read_source_file("docs/journey.md");
  auto embedded = dot_block(doc);
  INFO("regenerate the ```dot block in docs/journey.md from journey_dot() "
       "and docs/journey.svg with `dot -Tsvg`");
  CHECK(embedded == journey_dot());
}

TEST_CASE("the diagram has every state and one labelled edge per table row",
          "[runtime][journey][docs]") {
  auto dot = journey_dot();
  for (auto s : all_journey_states)
    CHECK(dot.find("  " + to_string(s)) != std::string::npos);
  for (auto& t : journey_transitions) {
    INFO(to_string(t.from) << " --" << to_string(t.event) << "--> "
                           << to_string(t.to));
    auto edge =
      "  " + to_string(t.from) + " -> " + to_string(t.to) + " [label=\"";
    auto at = dot.find(edge);
    REQUIRE(at != std::string::npos);
    auto line = dot.substr(at, dot.find('\n', at) - at);
    auto label =
      line.substr(edge.size(), line.find('"', edge.size()) - edge.size());
    CHECK(("\\n" + label + "\\n").find("\\n" + to_string(t.event) + "\\n")
          != std::string::npos);
  }
  CHECK(dot.rfind("digraph journey {\n", 0) == 0);
  CHECK(dot.substr(dot.size() - 2) == "}\n");
}

TEST_CASE("the rendered docs/journey.svg names every state and event",
          "[runtime][journey][docs]") {
  // The SVG is rendered by hand with `dot`; this catches one left stale after
  // a state or event was added.
  auto svg = read_source_file("docs/journey.svg");
  for (auto s : all_journey_states)
    CHECK(svg.find(">" + to_string(s) + "<") != std::string::npos);
  for (auto e : all_journey_event_kinds)
    CHECK(svg.find(">" + to_string(e) + "<") != std::string::npos);
  CHECK(read_source_file("docs/journey.md").find("](journey.svg)")
        != std::string::npos);
}
