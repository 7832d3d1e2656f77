// The journey transition table drawn as a Graphviz digraph: states are nodes,
// each edge carries the event kinds that make that move. docs/journey.md
// embeds this text verbatim and a test compares the two, so the picture in the
// documentation is generated from the same table the code enforces.
#pragma once

#include <string>

namespace bulwark {

/// The `dot` source of `journey_transitions`: nodes in enum order, one edge
/// per (from, to) pair in table order, its label the event kinds joined by
/// line breaks. Deterministic; ends with a newline.
std::string journey_dot();

} // namespace bulwark
