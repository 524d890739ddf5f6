// hive::cgroups: the run's control groups — limits, kernel-measured usage, tree-wide kill.
//
// CreateForRun() detects the host's layout (pure cgroup v2, pure v1, or hybrid: v1
// controllers plus a controller-less v2 mount), creates the run's cgroup below the cgroup
// hive-run itself runs in, in each hierarchy it needs, and writes the limits that are set.
// The supervisor then places the child (CLONE_INTO_CGROUP where a v2 directory exists,
// Join() for the rest) before it runs any code, reads the kernel's counters after it exits,
// and always destroys the cgroups.
//
//   HIVE_ASSIGN_OR_RETURN(auto cg, hive::cgroups::CreateForRun(spec.run_id, spec.limits,
//                                                                spec.cgroups_path, io_paths));
//   clone_args.cgroup = cg->CloneIntoFd();            // CLONE_INTO_CGROUP when >= 0
//   HIVE_TRY(cg->Join(child_pid, cloned_into));       // before the child's go-ahead
//   ...                                               // on timeout: cg->Kill()
//   HIVE_ASSIGN_OR_RETURN(hive::cgroups::Stats st, cg->ReadStats());
//   report.usage = st.usage;
//   HIVE_TRY(cg->Destroy());
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hive/policy.h"
#include "hive/report.h"
#include "hive/status.h"

namespace hive::cgroups {

struct Layout;

struct Stats {
  Usage usage;                  // cpu user/system ms, memory peak, pids peak, io bytes
  bool oom_killed = false;      // the kernel's OOM killer fired inside the sandbox
  uint64_t oom_kill_count = 0;  // memory.events oom_kill / memory.oom_control oom_kill
  bool pids_limit_hit = false;  // a fork failed at pids.max (pids.events max)
  uint64_t cpu_usage_ns = 0;    // user + system of the whole sandbox
  bool io_measured = false;     // a blkio (v1) or io (v2) cgroup counted the disk I/O
  // v1 blkio sees only I/O the sandbox's tasks submit: direct and synchronous writes, not
  // buffered ones, which the kernel writes back later from outside the cgroup.
  bool io_buffered_writes_seen = false;
};

class CgroupManager {
 public:
  virtual ~CgroupManager() = default;
  // A v2 directory fd for clone3's CLONE_INTO_CGROUP, or -1 when there is no v2 directory.
  virtual int CloneIntoFd() const = 0;
  // Places `pid` in every cgroup of the run; `in_v2` says CLONE_INTO_CGROUP already put it in
  // the v2 one (a cgroup.procs write costs what the clone saved).
  virtual Status Join(pid_t pid, bool in_v2) = 0;
  virtual Result<Stats> ReadStats() = 0;
  // Kills every process of the sandbox, including setsid'ed and double-forked ones:
  // cgroup.kill on v2, freeze + SIGKILL + thaw on v1.
  virtual Status Kill() = 0;
  // Kills what is left, waits until the cgroups are empty and removes every directory that
  // was created. Called again, it does nothing.
  virtual Status Destroy() = 0;
  // Limits that are not enforced, and why ("memory_mb=512 not enforced: ...").
  virtual std::vector<std::string> Warnings() const = 0;
};

// Creates the run's cgroups and writes the limits that are set (cgroups only for those).
// `cgroups_path`: empty = `hive-run-<run_id>` below hive-run's own cgroup; relative = below
// hive-run's own cgroup; absolute = there. `io_paths` are the paths whose block devices get
// the io limits (the writable binds and the rootfs); empty means the device of `/`.
// A limit that cannot be enforced becomes a warning, or an error when
// `limits.require_limits` is set.
Result<std::unique_ptr<CgroupManager>> CreateForRun(const std::string& run_id,
                                                    const ExecutionLimits& limits,
                                                    const std::string& cgroups_path = "",
                                                    const std::vector<std::string>& io_paths = {});

// CreateForRun() on a layout the caller detected (DetectLayout(), layout.h), so that one
// reading of mountinfo serves the run's cgroups and SweepStale. Tests pass fixture layouts
// only to MakePlan; this one touches the cgroup filesystem.
Result<std::unique_ptr<CgroupManager>> CreateWithLayout(const Layout& layout,
                                                        const std::string& run_id,
                                                        const ExecutionLimits& limits,
                                                        const std::string& cgroups_path,
                                                        const std::vector<std::string>& io_paths);

// Removes `hive-run-*` cgroups below hive-run's own cgroup that a crashed hive-run left
// behind: ones with no process inside and not held (flock) by a live hive-run. `layout` is
// as detected before CreateWithLayout, which may move hive-run into a leaf of its own.
Status SweepStale(const Layout& layout);
Status SweepStale();

// Which limit ended the run, from the kernel's counters and the way the process died; for
// the report's `outcome` and `killed_by`. `exit_code` is the process's own code (-1 when it
// did not exit), `term_signal` the signal that ended it (0 when it exited). Returns nothing
// when no limit ended the run (a limit hit by a run that still exited 0 is not its fate).
struct LimitHit {
  Outcome outcome;
  std::string killed_by;  // "memory_limit", "pids_limit", "cpu_limit", "file_size_limit"
  std::string detail;     // "OOM killer fired 1 time(s) at memory_mb=64"
};
std::optional<LimitHit> ClassifyLimit(const Stats& stats, const ExecutionLimits& limits,
                                      int exit_code, int term_signal);

// `monitoring.alert_thresholds` applied to the measured usage (DESIGN §5).
std::vector<Alert> AlertsFor(const Usage& usage, const ExecutionLimits& limits,
                             const AlertThresholds& thresholds, uint64_t wall_ms);

}  // namespace hive::cgroups
