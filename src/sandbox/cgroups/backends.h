// The cgroup v1 and v2 backends behind CgroupManager, and the composite that CreateForRun()
// returns (a hybrid host uses both: limits in v1, clone-into and kill through v2).
//
// Backends are built over directories that already exist, so tests point them at fixture
// trees: CgroupDir::Adopt(tmp) + ApplyLimits() + ReadStats().
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "sandbox/cgroups/cgroup_dir.h"
#include "sandbox/cgroups/cgroups.h"
#include "sandbox/cgroups/layout.h"

namespace hive::cgroups {

// The limits a cgroup enforces, each with its controller in either version.
enum class Kind { kMemory, kPids, kCpu, kCpuShares, kIo };

// How a limit is named in errors, by its config.json field: "linux.resources.memory.limit=
// 67108864", "linux.resources.blockIO (8:0 write 4194304 B/s)".
std::string LimitName(Kind k, const Limits& limits);

// A limit that is not enforced: which one ("memory_mb=512") and why.
struct Unenforced {
  std::string limit;
  Status why;
  std::string Text() const;  // "memory_mb=512 not enforced: <why>"
};

class V2Manager final : public CgroupManager {
 public:
  // `retain_controllers`: this run relies on EnableControllers() of this process, which is
  // undone when the last such run is destroyed.
  explicit V2Manager(CgroupDir dir, bool retain_controllers = false);
  ~V2Manager() override;

  // Writes memory.max (+ memory.swap.max 0), pids.max, cpu.max and io.max for the limits that
  // are set in `limits`. Returns what could not be written.
  std::vector<Unenforced> ApplyLimits(const Limits& limits);

  int CloneIntoFd() const override { return dir_.fd(); }
  Status Join(pid_t pid, bool in_v2) override;
  Result<Stats> ReadStats() override;
  Status Kill() override;
  Status Destroy() override;
  std::vector<std::string> Warnings() const override { return {}; }
  std::vector<std::string> Paths() const override { return {dir_.path()}; }
  void Release() override;

  Result<bool> Populated() const;
  // Waits for cgroup.events to read "populated 0" (poll POLLPRI; no sleeping loop).
  Status WaitEmpty(Clock::time_point deadline) const;
  const std::string& path() const { return dir_.path(); }

 private:
  CgroupDir dir_;
  uint64_t pids_seen_peak_ = 0;  // where pids.peak is missing (kernels before 6.1)
  bool retains_controllers_ = false;
  bool destroyed_ = false;
};

// Makes `wanted` controllers available to new children of `own_dir` by writing
// `+name` to its cgroup.subtree_control. When the kernel refuses with EBUSY because
// `own_dir` holds processes (the v2 "no internal processes" rule) and hive-run is the only
// one, hive-run first moves itself into a leaf `hive-run-supervisor.<pid>` below it, as
// crun does. Returns the controllers that could not be enabled and why.
std::map<std::string, Status> EnableControllers(const std::string& own_dir,
                                                const std::set<std::string>& wanted);
// Counts the runs that rely on EnableControllers(); when the last is released, hive-run
// moves back out of its leaf and removes it, if no other cgroup below its own is in use.
void RetainControllers();
void ReleaseControllers();

class V1Manager final : public CgroupManager {
 public:
  // One directory per v1 hierarchy; `controllers` are the ones that hierarchy carries.
  struct Group {
    std::vector<std::string> controllers;
    CgroupDir dir;
  };
  explicit V1Manager(std::vector<Group> groups);
  ~V1Manager() override;

  // Writes memory.limit_in_bytes (+ memsw), pids.max, cpu.cfs_quota_us and
  // blkio.throttle.*_bps_device for the limits that are set.
  std::vector<Unenforced> ApplyLimits(const Limits& limits);

  int CloneIntoFd() const override { return -1; }
  Status Join(pid_t pid, bool in_v2) override;
  Result<Stats> ReadStats() override;
  // Freezes the freezer cgroup, SIGKILLs every task in it, thaws it so they die. Without a
  // freezer it kills what cgroup.procs lists until nothing is left.
  Status Kill() override;
  Status Destroy() override;
  std::vector<std::string> Warnings() const override { return {}; }
  std::vector<std::string> Paths() const override;
  void Release() override;

  Result<bool> Populated() const;
  Status WaitEmpty(Clock::time_point deadline) const;
  const CgroupDir* For(const std::string& controller) const;
  bool empty() const { return groups_.empty(); }

 private:
  std::vector<Group> groups_;
  uint64_t pids_seen_peak_ = 0;
  bool destroyed_ = false;
};

// What CreateForRun() returns: either backend or both, plus the warnings.
class CompositeManager final : public CgroupManager {
 public:
  CompositeManager(std::unique_ptr<V1Manager> v1, std::unique_ptr<V2Manager> v2,
                   std::vector<std::string> warnings);
  ~CompositeManager() override;

  int CloneIntoFd() const override { return v2_ ? v2_->CloneIntoFd() : -1; }
  Status Join(pid_t pid, bool in_v2) override;
  Result<Stats> ReadStats() override;
  Status Kill() override;
  Status Destroy() override;
  std::vector<std::string> Warnings() const override { return warnings_; }
  std::vector<std::string> Paths() const override;
  void Release() override;

 private:
  std::unique_ptr<V1Manager> v1_;
  std::unique_ptr<V2Manager> v2_;
  std::vector<std::string> warnings_;
  bool destroyed_ = false;
};

// Which backend enforces which limit on a host (pure, for tests).
struct Plan {
  bool v2_dir = false;                   // create a v2 directory (clone-into, kill, cpu.stat)
  std::set<std::string> v2_controllers;  // to enable below hive-run's own v2 cgroup
  std::set<std::string> v1_controllers;  // v1 hierarchies to create a directory in
  Limits v1_limits;                      // cgroup limits each backend writes (others zero)
  Limits v2_limits;
  std::vector<Unenforced> unenforced;
};
// `v2_available`: the controllers in hive-run's own v2 cgroup.controllers.
Plan MakePlan(const Layout& layout, const Limits& limits,
              const std::set<std::string>& v2_available);

// Whether any swap is configured (swap limits matter only then).
bool HostHasSwap();

}  // namespace hive::cgroups
