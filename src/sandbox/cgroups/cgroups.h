// hive::cgroups: the run's control groups — limits, kernel-measured usage, tree-wide kill.
//
// CreateForRun() detects the host's layout (pure cgroup v2, pure v1, or hybrid: v1
// controllers plus a controller-less v2 mount), creates the run's cgroup below the cgroup
// hive-run itself runs in, in each hierarchy it needs, and writes the limits that are set.
// The supervisor then places the child (CLONE_INTO_CGROUP where a v2 directory exists,
// Join() for the rest) before it runs any code, reads the kernel's counters after it exits,
// and always destroys the cgroups.
//
//   const auto limits = hive::cgroups::LimitsFor(spec.linux.resources, spec.hive.cpu_seconds > 0);
//   HIVE_ASSIGN_OR_RETURN(auto cg, hive::cgroups::CreateForRun(spec.hive.run_id, limits,
//                                                                spec.linux.cgroups_path));
//   clone_args.cgroup = cg->CloneIntoFd();            // CLONE_INTO_CGROUP when >= 0
//   HIVE_TRY(cg->Join(child_pid, cloned_into));       // before the child's go-ahead
//   ...                                               // on timeout: cg->Kill()
//   HIVE_ASSIGN_OR_RETURN(hive::cgroups::Stats st, cg->ReadStats());
//   usage.memory_peak_bytes = st.memory_peak_bytes;
//   HIVE_TRY(cg->Destroy());
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hive/run_spec.h"
#include "hive/status.h"

namespace hive::cgroups {

struct Layout;

// The cgroup limits of one run, from its spec's linux.resources (OCI units); 0 = none.
struct Limits {
  uint64_t memory_bytes = 0;  // swap off
  uint64_t pids = 0;
  uint64_t cpu_quota_us = 0;  // per cpu_period_us
  uint64_t cpu_period_us = 100000;
  // linux.resources.cpu.shares (2..262144): the share of CPU under contention, not a cap.
  // v1 writes it as cpu.shares; v2 has cpu.weight (1..10000) instead (CpuWeight).
  uint64_t cpu_shares = 0;
  std::vector<ThrottleDevice> read_bps, write_bps;
  // The run's CPU time is watched as a whole (hive.cpu_seconds): v1 then needs cpuacct.
  bool cpu_accounting = false;
};
// cgroup v2's cpu.weight for v1 cpu.shares, by the runtime-spec's conversion (the one runc
// and crun use): 2 → 1, 1024 → 39, 262144 → 10000, so a client's shares mean the same
// relative weight on either version.
uint64_t CpuWeight(uint64_t shares);

// linux.resources as the cgroup module takes it.
Limits LimitsFor(const ResourcesSpec& resources, bool cpu_accounting);

struct Stats {
  uint64_t cpu_user_ms = 0;
  uint64_t cpu_system_ms = 0;
  uint64_t memory_peak_bytes = 0;
  uint64_t pids_peak = 0;
  uint64_t io_read_bytes = 0;
  uint64_t io_write_bytes = 0;
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
  // Notes on how the limits are held (io limits on paths no block device backs, ...).
  virtual std::vector<std::string> Warnings() const = 0;
  // The run's cgroup directories, for AdoptRun in another process.
  virtual std::vector<std::string> Paths() const = 0;
  // Gives the directories up: they are no longer removed when this manager goes.
  virtual void Release() = 0;
};

// Creates the run's cgroups and writes the limits that are set (cgroups only for those).
// `cgroups_path`: empty = `hive-run-<run_id>` below hive-run's own cgroup; relative = below
// hive-run's own cgroup; absolute = there. A limit that cannot be enforced refuses the run,
// naming the limit and why.
Result<std::unique_ptr<CgroupManager>> CreateForRun(const std::string& run_id,
                                                    const Limits& limits,
                                                    const std::string& cgroups_path = "");

// CreateForRun() on a layout the caller detected (DetectLayout(), layout.h), so that one
// reading of mountinfo serves the run's cgroups and SweepStale. Tests pass fixture layouts
// only to MakePlan; this one touches the cgroup filesystem.
Result<std::unique_ptr<CgroupManager>> CreateWithLayout(const Layout& layout,
                                                        const std::string& run_id,
                                                        const Limits& limits,
                                                        const std::string& cgroups_path);

// Removes `hive-run-*` cgroups below hive-run's own cgroup that a crashed hive-run left
// behind: ones with no process inside and not held (flock) by a live hive-run. `layout` is
// as detected before CreateWithLayout, which may move hive-run into a leaf of its own.
Status SweepStale(const Layout& layout);
Status SweepStale();

// A manager over the directories another process created (CgroupManager::Paths) and released:
// it reads, kills and, at Destroy, removes them.
Result<std::unique_ptr<CgroupManager>> AdoptRun(const Layout& layout,
                                                const std::vector<std::string>& dirs);

// Changes the limits of a running sandbox (the OCI `update`): writes each limit set in
// `limits` (0 = leave as it is) into the one of `dirs` (CgroupManager::Paths of the run,
// created by another process) whose controller holds it. A limit none of them can hold (the
// run was created without that controller's cgroup) is refused, naming it; nothing is moved,
// killed or removed.
Status UpdateLimits(const Layout& layout, const std::vector<std::string>& dirs,
                    const Limits& limits);

}  // namespace hive::cgroups
