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

// A number with an optional unit suffix, as people write limits on a command line ("5m",
// "2G", "1.5h"), converted to the base unit through ParseDecimal, then checked against
// [min, max] in that unit. `units` maps each accepted suffix (case-insensitive; "" is the base
// unit) to its factor; `whole` refuses values that are not a whole number of the base unit,
// and exponents (as ParseUnsigned does).
//
//   Result<double> s = ParseQuantity("5m", kDurationUnits, 1, kMaxSeconds, "s");   // 300
struct UnitFactor {
  std::string_view suffix;
  double factor;
};
inline constexpr UnitFactor kDurationUnits[] = {{"", 1},        {"s", 1},     {"m", 60},
                                                {"min", 60},    {"h", 3600},  {"d", 86400}};
// In MiB, the unit of every size in a policy.
inline constexpr UnitFactor kSizeUnitsMiB[] = {
    {"", 1},          {"m", 1},          {"mb", 1},          {"mib", 1},
    {"g", 1024},      {"gb", 1024},      {"gib", 1024},      {"t", 1024 * 1024},
    {"tb", 1024 * 1024}, {"tib", 1024 * 1024}};
template <size_t N>
Result<double> ParseQuantity(std::string_view text, const UnitFactor (&units)[N], double min,
                             double max, std::string_view base_unit, bool whole = false) {
  return ParseQuantity(text, units, N, min, max, base_unit, whole);
}
Result<double> ParseQuantity(std::string_view text, const UnitFactor* units, size_t n_units,
                             double min, double max, std::string_view base_unit, bool whole);

// `text` in double quotes for an error message: control characters escaped and cut after
// kQuotedMax bytes ("…" marks the cut), so that a message never carries more of a file than
// the offending token.
inline constexpr size_t kQuotedMax = 40;
std::string Quoted(std::string_view text);

}  // namespace hive
