#include "base/log.h"

#include <unistd.h>

#include <atomic>

#include <nlohmann/json.hpp>

#include "base/files.h"

namespace hive::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::atomic<int> g_sink_fd{-1};
std::atomic<bool> g_sink_json{false};

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
  const int sink = g_sink_fd;
  if (sink < 0) return;
  std::string entry;
  if (g_sink_json) {
    entry = nlohmann::json{{"level", Name(level)}, {"msg", std::string(message)},
                           {"time", Rfc3339Now()}}
                .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
            "\n";
  } else {
    entry = fmt::format("time=\"{}\" level={} msg={}\n", Rfc3339Now(), Name(level),
                        nlohmann::json(std::string(message))
                            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  n = ::write(sink, entry.data(), entry.size());
  (void)n;
}

void SetSink(int fd, bool json) {
  g_sink_json = json;
  g_sink_fd = fd;
}

}  // namespace hive::log
