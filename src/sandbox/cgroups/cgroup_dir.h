// CgroupDir: one cgroup directory that removes itself (and the parents it created) when
// dropped, unless released; plus the parsers for the kernel's control-file formats.
//
//   HIVE_ASSIGN_OR_RETURN(CgroupDir dir, CgroupDir::Create("/sys/fs/cgroup/pids", "hive-run-x"));
//   HIVE_TRY(dir.Write("pids.max", "64"));
//   HIVE_ASSIGN_OR_RETURN(auto events, dir.ReadKeyed("pids.events"));
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "hive/status.h"

namespace hive::cgroups {

using Clock = std::chrono::steady_clock;

// How long Destroy() and Kill() wait for the kernel (tasks exiting, a freeze completing)
// before they report what is left.
inline constexpr std::chrono::milliseconds kSettleTimeout{10000};

class CgroupDir {
 public:
  CgroupDir() = default;
  CgroupDir(CgroupDir&& o) noexcept;
  CgroupDir& operator=(CgroupDir&& o) noexcept;
  CgroupDir(const CgroupDir&) = delete;
  CgroupDir& operator=(const CgroupDir&) = delete;
  ~CgroupDir();

  // Creates `base`/`rel` (`base` must exist), making missing intermediate directories of a
  // nested `rel`; fails with kInvalidArgument when the leaf already exists (another run
  // holds that name). Holds an exclusive flock on the leaf so SweepStale() leaves it alone.
  static Result<CgroupDir> Create(const std::string& base, const std::string& rel);
  // An existing directory that this object never removes (fixture trees in tests).
  static Result<CgroupDir> Adopt(const std::string& path);
  // The same, owning it: Remove() removes it (a run's directory adopted from another process).
  static Result<CgroupDir> AdoptOwned(const std::string& path);
  // No longer removed when dropped.
  void Release() { owned_ = false; }

  const std::string& path() const { return path_; }
  int fd() const { return fd_.get(); }
  bool empty() const { return path_.empty(); }

  // The control file `name` inside this directory.
  std::string File(const std::string& name) const { return path_ + "/" + name; }
  bool Has(const std::string& name) const;
  // One write(2) of `value`; errors read "write `value` to `<dir>/<name>`: <strerror>".
  Status Write(const std::string& name, const std::string& value) const;
  Result<std::string> Read(const std::string& name) const;
  Result<std::map<std::string, uint64_t>> ReadKeyed(const std::string& name) const;
  Result<uint64_t> ReadU64(const std::string& name) const;
  // The pids in cgroup.procs, here and in any sub-cgroup below.
  Result<std::vector<pid_t>> Procs() const;

  // Removes the directory, any sub-cgroups the sandbox made inside it, and the parents that
  // Create() made (those still used by another run are kept). Retries EBUSY until
  // `deadline`, for tasks that are still exiting.
  Status Remove(Clock::time_point deadline);

 private:
  std::string path_;
  std::vector<std::string> created_parents_;  // innermost last
  UniqueFd fd_;
  bool owned_ = false;
};

// Parsers for the control-file formats (pure, for unit tests).
// "max" reads as UINT64_MAX.
Result<uint64_t> ParseU64(const std::string& text, const std::string& what);
// "key value" lines: memory.events, pids.events, cpu.stat, memory.oom_control, cpuacct.stat.
std::map<std::string, uint64_t> ParseKeyed(const std::string& text);
struct IoBytes {
  uint64_t read = 0;
  uint64_t write = 0;
};
// v2 io.stat: "8:0 rbytes=1 wbytes=2 rios=.. wios=.. dbytes=.. dios=..", summed over devices.
IoBytes ParseIoStat(const std::string& text);
// v1 blkio.throttle.io_service_bytes(_recursive): "8:0 Read 1", "8:0 Write 2", summed.
IoBytes ParseBlkioServiceBytes(const std::string& text);

// Names of the sub-cgroups (directories) of `path`; cgroupfs lists only control files and
// child cgroups.
Result<std::vector<std::string>> SubCgroups(const std::string& path);

// Appends cgroup.procs of `path` and of every sub-cgroup the sandbox may have made below it.
Status CollectProcs(const std::string& path, std::vector<pid_t>* pids);

// Recursively removes the cgroup directory `path` (children first). Cgroup directories hold
// only kernel files, so rmdir is the whole job.
Status RemoveTree(const std::string& path, Clock::time_point deadline);

}  // namespace hive::cgroups
