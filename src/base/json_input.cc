#include "base/json_input.h"

#include <cctype>
#include <cstdio>
#include <functional>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "base/user_text.h"

namespace hive {
namespace {

// A key as it appears in a JSON path: quoted and cut short unless it is a plain name.
std::string KeyPath(const std::string& path, const std::string& key) {
  bool plain = !key.empty() && key.size() <= kQuotedMax;
  for (char c : key) plain = plain && (isalnum(static_cast<unsigned char>(c)) || c == '_');
  const std::string shown = plain ? key : Quoted(key);
  return path.empty() ? shown : path + "." + shown;
}

// Sees every key while nlohmann parses, keeping the JSON path to name the first duplicate.
class DuplicateKeyFinder {
  using json = nlohmann::json;

 public:
  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    using E = json::parse_event_t;
    switch (event) {
      case E::object_start:
      case E::array_start:
        frames_.push_back({event == E::object_start, {}, {}, 0});
        break;
      case E::key: {
        Frame& f = frames_.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second && found_.empty()) found_ = Path();
        break;
      }
      case E::object_end:
      case E::array_end:
        frames_.pop_back();
        if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
        break;
      case E::value:
        if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
        break;
    }
    return true;
  }
  // The path of the first duplicate key, empty when there is none.
  const std::string& found() const { return found_; }

 private:
  struct Frame {
    bool object;
    std::set<std::string> keys;
    std::string key;  // the current key of an object
    size_t index;     // the current index of an array
  };
  std::string Path() const {
    std::string p;
    for (const Frame& f : frames_) {
      p = f.object ? KeyPath(p, f.key) : fmt::format("{}[{}]", p, f.index);
    }
    return p.empty() ? "(root)" : p;
  }
  std::vector<Frame> frames_;
  std::string found_;
};

// nlohmann's message minus the text it last read, which may be a whole line of the file:
// "parse error at line 3, column 5: syntax error ... - invalid literal; last read: 'xyz'"
// becomes "config.json:3:5: invalid JSON: syntax error ... - invalid literal near \"xyz\"".
std::string JsonParseError(const std::string& source, const nlohmann::json::parse_error& e) {
  std::string msg = e.what();
  std::string where = source;
  size_t at = msg.find("parse error at line ");
  size_t colon = msg.find(": ", at == std::string::npos ? 0 : at);
  unsigned line = 0, column = 0;
  if (at != std::string::npos &&
      std::sscanf(msg.c_str() + at, "parse error at line %u, column %u", &line, &column) == 2) {
    where = fmt::format("{}:{}:{}", source, line, column);
  }
  if (colon != std::string::npos) msg = msg.substr(colon + 2);
  std::string token;
  if (size_t last = msg.find("; last read: '"); last != std::string::npos) {
    token = msg.substr(last + 14);
    if (!token.empty() && token.back() == '\'') token.pop_back();
    msg = msg.substr(0, last);
  }
  if (msg.size() > 200) msg = msg.substr(0, 200) + "…";
  return token.empty() ? fmt::format("{}: invalid JSON: {}", where, msg)
                       : fmt::format("{}: invalid JSON: {} near {}", where, msg, Quoted(token));
}

}  // namespace

Result<nlohmann::json> ParseJsonInput(const std::string& text, const std::string& source) {
  nlohmann::json j;
  DuplicateKeyFinder duplicates;
  try {
    j = nlohmann::json::parse(text, std::ref(duplicates));
  } catch (const nlohmann::json::parse_error& e) {
    return Error(Code::kInvalidArgument, JsonParseError(source, e));
  }
  if (!duplicates.found().empty()) {
    return Error(Code::kInvalidArgument,
                 fmt::format("{}: {}: duplicate key", source, duplicates.found()));
  }
  return j;
}

}  // namespace hive
