// Small file helpers shared by every module.
#pragma once

#include <sys/types.h>

#include <string>

#include "hive/status.h"

namespace hive {

Result<std::string> ReadFile(const std::string& path);
// Writes to a temporary file beside `path` and renames it over: readers never see half a file.
// kDurable also fsyncs before the rename, so the new content survives a crash; files that are
// records of a run rather than state (the audit log holds the durable record) skip that cost.
enum class Sync { kDurable, kNoSync };
Status WriteFileAtomic(const std::string& path, const std::string& data, mode_t mode = 0644,
                       Sync sync = Sync::kDurable);
// Writes the whole buffer to an open file (for /proc and cgroup files: one write call).
Status WriteAll(int fd, const std::string& data, const std::string& what);
// One write(2) of `data` to an existing file such as /proc/PID/uid_map or a cgroup control
// file; errors name the value and the file.
Status WriteControlFile(const std::string& path, const std::string& data);
// Lowercase hex SHA-256 of bytes.
std::string Sha256Hex(const std::string& bytes);
// RFC 3339 UTC time with milliseconds, "2026-11-23T07:44:28.123Z".
std::string Rfc3339Now();

}  // namespace hive
