// Small file helpers shared by every module.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "base/unique_fd.h"
#include "hive/status.h"

namespace hive {

// For hive-run's own files (state, keys, /proc, cgroup files): reads to the end.
Result<std::string> ReadFile(const std::string& path);

// A file a user hands hive-run to parse, and the most it may hold. Every such file is read with
// ReadInputFile: a FIFO, a device or a file larger than the cap is refused with both named,
// before more than cap + 1 bytes are read, so a bad input costs neither a hang nor memory.
struct InputKind {
  const char* what;  // "policy", "bundle config", ... (for messages)
  size_t max_bytes;
};
inline constexpr InputKind kPolicyInput{"policy", size_t{1} << 20};
inline constexpr InputKind kBundleConfigInput{"bundle config", size_t{4} << 20};
inline constexpr InputKind kSeccompProfileInput{"seccomp profile", size_t{4} << 20};
inline constexpr InputKind kSeccompGroupsInput{"seccomp groups file", size_t{1} << 20};
inline constexpr InputKind kScriptInput{"script", size_t{64} << 20};
inline constexpr InputKind kPublicKeyInput{"public key", 4096};
inline constexpr InputKind kResourcesInput{"resources", size_t{1} << 20};

// Opens `path` for reading without blocking (a FIFO with no writer) and without becoming its
// controlling terminal; refuses anything but a regular file of at most kind.max_bytes.
Result<UniqueFd> OpenInputFile(const std::string& path, const InputKind& kind);
Result<std::string> ReadInputFile(const std::string& path, const InputKind& kind);
// The same for `name` inside the directory `dir_fd` (named `dir` in messages): the path may not
// leave that directory, through `..`, an absolute symlink or a symlink pointing outside, so a
// directory someone else controls cannot make hive-run read (and quote) a file elsewhere.
// A missing file is kNotFound.
Result<UniqueFd> OpenInputFileBeneath(int dir_fd, const std::string& dir, const std::string& name,
                                      const InputKind& kind);
Result<std::string> ReadInputFileBeneath(int dir_fd, const std::string& dir,
                                         const std::string& name, const InputKind& kind);

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
