// Bytes in a JSON document, losslessly and always as valid JSON. Files that
// keep records as JSON lines (the ledger journal, the saga log) hold bytes
// that came from the network: request and answer bodies, step results. JSON
// strings must be UTF-8, so a value that is not valid UTF-8 cannot be written
// "as it is" without making the line invalid JSON. The scheme: bytes that are
// valid UTF-8 are a JSON string (readable, the common case); any other bytes
// are an object {"base64": "<RFC 4648 base64, padded>"}. Readers accept both
// forms, and also a string holding raw invalid bytes, as files written before
// this scheme have (parse those with Boost.JSON's `allow_invalid_utf8`).
#pragma once

#include <string>
#include <string_view>

#include <boost/json/value.hpp>

namespace bulwark {

/// Standard base64 (RFC 4648 section 4) with padding.
std::string base64_encode(std::string_view bytes);

/// Decodes standard, padded base64. False (and `out` unspecified) for a
/// length that is not a multiple of 4, a character outside the alphabet,
/// misplaced padding, or non-zero bits after the last byte (so every byte
/// sequence has exactly one accepted text).
bool base64_decode(std::string_view text, std::string& out);

/// A JSON string when `bytes` is valid UTF-8, else {"base64": "..."}.
boost::json::value bytes_to_json(std::string_view bytes);

/// The inverse of `bytes_to_json`. False with `error` set (what is wrong,
/// without naming the field) for any other value.
bool bytes_from_json(const boost::json::value& v, std::string& out,
                     std::string& error);

} // namespace bulwark
