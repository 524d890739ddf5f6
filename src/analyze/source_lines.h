// A script's lines by number, for the `code` a finding quotes: where each line starts (4 bytes
// a line), never a copy of the text, and a quote cut short on a long line so that a thousand
// findings on one megabyte-long line do not each carry a megabyte.
//
//   SourceLines lines(source);
//   lines.Code(12);  // "os.system(cmd)": line 12 without its indentation
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hive::analyze {

class SourceLines {
 public:
  // Characters of a line a finding quotes; longer lines end in "...".
  static constexpr size_t kMaxCode = 200;

  explicit SourceLines(std::string_view source) : source_(source) {
    starts_.push_back(0);
    for (size_t i = 0; i < source.size(); ++i) {
      char c = source[i];
      if (c == '\r' && i + 1 < source.size() && source[i + 1] == '\n') ++i;
      if (c == '\n' || c == '\r') starts_.push_back(static_cast<uint32_t>(i + 1));
    }
  }

  // Lines, counting the empty one after a final newline.
  int count() const { return static_cast<int>(starts_.size()); }

  // Line `n` (1-based) trimmed of blanks, at most kMaxCode characters; "" when out of range.
  std::string Code(int n) const {
    if (n < 1 || n > count()) return "";
    size_t b = starts_[static_cast<size_t>(n) - 1];
    size_t e =
        static_cast<size_t>(n) < starts_.size() ? starts_[static_cast<size_t>(n)] : source_.size();
    std::string_view line = source_.substr(b, e - b);
    size_t first = line.find_first_not_of(" \t\f");
    if (first == std::string_view::npos) return "";
    size_t last = line.find_last_not_of(" \t\f\r\n");
    line = line.substr(first, last - first + 1);
    if (line.size() <= kMaxCode) return std::string(line);
    size_t cut = kMaxCode - 3;
    // Never split a UTF-8 character.
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    return std::string(line.substr(0, cut)) + "...";
  }

 private:
  std::string_view source_;
  std::vector<uint32_t> starts_;  // offset of each line's first byte
};

}  // namespace hive::analyze
