// A program that uses only bulwark::runtime from an installed bulwark: it
// validates a configuration document and prints what it found, then shows
// that a bad document is refused with its JSON path.
#include <cstdio>

#include "bulwark/runtime/config/bulwark_config.hpp"

int main() {
  auto good = bulwark::parse_bulwark_config(
    R"({"dependencies": {"pricing": {"idempotency": "idempotent"}}})");
  if (!good.ok() || good.config->find("pricing") == nullptr) {
    std::printf("FAIL: a valid document was refused: %s\n",
                good.errors.to_string().c_str());
    return 1;
  }
  auto bad = bulwark::parse_bulwark_config(
    R"({"dependencies": {"pricing": {"idempotency": "twice"}}})");
  if (bad.ok()) {
    std::printf("FAIL: a bad document was accepted\n");
    return 1;
  }
  std::printf("runtime consumer: pricing found; refused: %s",
              bad.errors.to_string().c_str());
  return 0;
}
