// hive::log: what hive-run says on standard error while it works, by level.
//
// The run's policy sets the level (security.monitoring.log_level: DEBUG, INFO, WARNING,
// ERROR; the built-in policy says INFO); --quiet raises it to ERROR. Debug lines name each
// state change with the path and the value written, so a run can be followed step by step.
//
//   hive::log::SetLevel(hive::log::Level::kDebug);
//   HIVE_LOG(kDebug, "cgroup `{}`: memory.max = {}", dir, bytes);
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace hive::log {

enum class Level { kDebug = 0, kInfo, kWarning, kError };

void SetLevel(Level level);
Level CurrentLevel();
// "DEBUG", "INFO", "WARNING", "ERROR" (as the policy spells them); false when unknown.
bool LevelFromName(std::string_view name, Level* out);
// One line: "hive-run: debug: <message>".
void Write(Level level, std::string_view message);
// Also writes every line to `fd` (the runc command line's `--log FILE`), as one JSON object
// {"level","msg","time" (RFC 3339)} per line when `json`, else `time=... level=... msg=...`.
// fd -1 stops it.
void SetSink(int fd, bool json);

inline bool Enabled(Level level) { return level >= CurrentLevel(); }

}  // namespace hive::log

// Formats only when the level is on: debug lines cost nothing on a run that does not log them.
#define HIVE_LOG(level, ...)                                                 \
  do {                                                                       \
    if (::hive::log::Enabled(::hive::log::Level::level)) {                   \
      ::hive::log::Write(::hive::log::Level::level, fmt::format(__VA_ARGS__)); \
    }                                                                        \
  } while (0)
