#include "base/user_text.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

namespace hive {

Result<uint64_t> ParseUnsigned(std::string_view text, uint64_t min, uint64_t max) {
  const char* kind = min > 0 ? "a positive" : "a non-negative";
  if (text.empty()) return Error(Code::kInvalidArgument, fmt::format("expected {} integer", kind));
  uint64_t v = 0;
  bool overflow = false;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return Error(Code::kInvalidArgument,
                   fmt::format("expected {} integer, got {}", kind, Quoted(text)));
    }
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - digit) / 10) overflow = true;
    if (!overflow) v = v * 10 + digit;
  }
  if (overflow || v < min || v > max) {
    // The text, not the value: a number past 2^64 has no value to show.
    std::string shown(text.size() > kQuotedMax ? Quoted(text) : std::string(text));
    return Error(Code::kInvalidArgument,
                 fmt::format("{} is out of range ({}..{})", shown, min, max));
  }
  return v;
}

Result<double> ParseDecimal(std::string_view text, double min, double max) {
  // [digits][.digits][e[+-]digits], as `policy show` writes numbers; no inf, nan or hex.
  size_t i = 0, digits = 0;
  auto run = [&] {
    size_t n = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) ++n;
    return n;
  };
  digits += run();
  if (i < text.size() && text[i] == '.') {
    ++i;
    digits += run();
  }
  if (digits > 0 && i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
    if (run() == 0) digits = 0;
  }
  if (digits == 0 || i != text.size()) {
    return Error(Code::kInvalidArgument,
                 fmt::format("expected a non-negative number, got {}", Quoted(text)));
  }
  const std::string s(text);
  const double v = std::strtod(s.c_str(), nullptr);
  if (!(v >= min && v <= max)) {
    std::string shown(text.size() > kQuotedMax ? Quoted(text) : s);
    return Error(Code::kInvalidArgument,
                 fmt::format("{} is out of range ({}..{})", shown, min, max));
  }
  return v;
}

Result<double> ParseQuantity(std::string_view text, const UnitFactor* units, size_t n_units,
                             double min, double max, std::string_view base_unit, bool whole) {
  size_t split = text.size();
  while (split > 0 && std::isalpha(static_cast<unsigned char>(text[split - 1]))) --split;
  std::string suffix(text.substr(split));
  for (char& c : suffix) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const UnitFactor* unit = nullptr;
  std::string known;
  for (size_t i = 0; i < n_units; ++i) {
    if (units[i].suffix == suffix) unit = &units[i];
    if (!units[i].suffix.empty()) known += (known.empty() ? "" : ", ") + std::string(units[i].suffix);
  }
  if (unit == nullptr) {
    return Error(Code::kInvalidArgument,
                 fmt::format("unknown unit in {} (a number, or one followed by {})", Quoted(text),
                             known));
  }
  // The number itself goes through the one parser; its own range is checked below, in the
  // base unit, so that "0.5G" and "512" mean the same.
  const std::string_view digits = text.substr(0, split);
  if (whole && digits.find_first_of("eE") != std::string_view::npos) {
    // Where the policy takes integers only (memory_mb), so does the command line: the same
    // text means the same value, or nothing, everywhere.
    return Error(Code::kInvalidArgument,
                 fmt::format("expected a number like 512, 1.5G or 2G, got {}", Quoted(text)));
  }
  HIVE_ASSIGN_OR_RETURN(double number, ParseDecimal(digits, 0, 1e300));
  const double v = number * unit->factor;
  if (!(v >= min && v <= max)) {
    return Error(Code::kInvalidArgument,
                 fmt::format("{} is out of range ({}..{} {})", Quoted(text), min, max, base_unit));
  }
  if (whole && v != std::floor(v)) {
    return Error(Code::kInvalidArgument,
                 fmt::format("{} is not a whole number of {}", Quoted(text), base_unit));
  }
  return v;
}

std::string Quoted(std::string_view text) {
  std::string out = "\"";
  size_t i = 0;
  for (; i < text.size() && i < kQuotedMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (i < text.size()) {
    // Cut inside a UTF-8 character: drop its first bytes too, so the message stays UTF-8.
    auto top = [&] { return static_cast<unsigned char>(out.back()) & 0xc0; };
    if ((static_cast<unsigned char>(text[i]) & 0xc0) == 0x80) {
      while (out.size() > 1 && top() == 0x80) out.pop_back();
      if (out.size() > 1 && top() == 0xc0) out.pop_back();
    }
    out += "…";
  }
  out += '"';
  return out;
}

}  // namespace hive
