#include "base/log.h"

#include <unistd.h>

#include <atomic>

namespace hive::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};

const char* Name(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarning:
      return "warning";
    case Level::kError:
      return "error";
  }
  return "";
}

}  // namespace

void SetLevel(Level level) { g_level = level; }
Level CurrentLevel() { return g_level; }

bool LevelFromName(std::string_view name, Level* out) {
  static constexpr std::pair<std::string_view, Level> kNames[] = {
      {"DEBUG", Level::kDebug},
      {"INFO", Level::kInfo},
      {"WARNING", Level::kWarning},
      {"ERROR", Level::kError}};
  for (const auto& [n, l] : kNames) {
    if (n == name) {
      *out = l;
      return true;
    }
  }
  return false;
}

void Write(Level level, std::string_view message) {
  // One write(2) per line, so that lines of concurrent runs do not interleave.
  std::string line = fmt::format("hive-run: {}: {}\n", Name(level), message);
  ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
  (void)n;
}

}  // namespace hive::log
