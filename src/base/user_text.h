// Reading numbers a user wrote, and quoting what a user wrote back in messages.
//
// One parser for every number in a policy and on the command line, so that the same text means
// the same value everywhere and nothing wraps: text out of range is an error naming the range,
// never a value modulo 2^64 and never "no limit".
//
//   Result<uint64_t> mb = ParseUnsigned(text, 1, kMaxMegabytes);
//   if (!mb.ok()) return "--memory (MiB): " + mb.status().message();  // "0 is out of range (1..N)"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "hive/status.h"

namespace hive {

// Decimal digits only: no sign, no exponent, no spaces, no 0x. Messages leave the field name to
// the caller: `expected a non-negative integer, got "lots"`, `4294967297 is out of range (0..N)`.
Result<uint64_t> ParseUnsigned(std::string_view text, uint64_t min, uint64_t max);
// A decimal number ("300", "0.5", "1e-05"); no sign, inf, nan or hex.
Result<double> ParseDecimal(std::string_view text, double min, double max);

// `text` in double quotes for an error message: control characters escaped and cut after
// kQuotedMax bytes ("…" marks the cut), so that a message never carries more of a file than
// the offending token.
inline constexpr size_t kQuotedMax = 40;
std::string Quoted(std::string_view text);

}  // namespace hive
