#include "bulwark/runtime/journey/journey_dot.hpp"

#include <vector>

#include "bulwark/runtime/journey/journey_state.hpp"

namespace bulwark {

std::string journey_dot() {
  std::string out;
  out += "digraph journey {\n";
  out += "  rankdir=LR;\n";
  out += "  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n";
  out += "  edge [fontname=\"Helvetica\", fontsize=10];\n";
  for (auto s : all_journey_states) {
    out += "  " + to_string(s);
    if (s == journey_state::received)
      out += " [shape=oval]";
    else if (is_terminal(s))
      out += " [shape=doubleoctagon]";
    out += ";\n";
  }
  // Merge rows with the same (from, to) into one edge, in table order.
  struct edge {
    journey_state from;
    journey_state to;
    std::string label;
  };
  std::vector<edge> edges;
  for (auto& t : journey_transitions) {
    edge* found = nullptr;
    for (auto& e : edges)
      if (e.from == t.from && e.to == t.to)
        found = &e;
    if (found == nullptr) {
      edges.push_back(edge{t.from, t.to, to_string(t.event)});
    } else {
      found->label += "\\n";
      found->label += to_string(t.event);
    }
  }
  for (auto& e : edges) {
    out += "  " + to_string(e.from) + " -> " + to_string(e.to) + " [label=\""
           + e.label + "\"";
    // A reply is legal from every state; grey keeps those edges from
    // drowning the rest of the picture.
    if (is_terminal(e.to))
      out += ", color=gray60, fontcolor=gray40";
    out += "];\n";
  }
  out += "}\n";
  return out;
}

} // namespace bulwark
