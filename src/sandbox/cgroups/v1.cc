// cgroup v1 backend: one directory per hierarchy (memory, pids, cpu, cpuacct, blkio,
// freezer), each below hive-run's own cgroup in that hierarchy.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <thread>

#include "base/files.h"
#include "sandbox/cgroups/backends.h"

namespace hive::cgroups {
namespace {

bool PastDeadline(Clock::time_point deadline) { return Clock::now() >= deadline; }

}  // namespace

V1Manager::V1Manager(std::vector<Group> groups) : groups_(std::move(groups)) {}

V1Manager::~V1Manager() {
  if (!destroyed_) (void)Destroy();
}

std::vector<std::string> V1Manager::Paths() const {
  std::vector<std::string> out;
  for (const auto& g : groups_) out.push_back(g.dir.path());
  return out;
}

void V1Manager::Release() {
  for (auto& g : groups_) g.dir.Release();
  destroyed_ = true;
}

const CgroupDir* V1Manager::For(const std::string& controller) const {
  for (const auto& g : groups_) {
    if (std::find(g.controllers.begin(), g.controllers.end(), controller) != g.controllers.end())
      return &g.dir;
  }
  return nullptr;
}

std::vector<Unenforced> V1Manager::ApplyLimits(const Limits& limits) {
  std::vector<Unenforced> out;
  auto need = [&](const std::string& controller, const std::string& limit) -> const CgroupDir* {
    const CgroupDir* d = For(controller);
    if (d == nullptr) {
      out.push_back({limit, Error(Code::kUnsupported,
                                  fmt::format("no `{}` cgroup for this run", controller))});
    }
    return d;
  };
  auto apply = [&](const std::string& limit, const Status& s) {
    if (!s.ok()) out.push_back({limit, s});
  };
  if (limits.memory_bytes > 0) {
    const std::string name = LimitName(Kind::kMemory, limits);
    if (const CgroupDir* d = need("memory", name)) {
      const std::string bytes = std::to_string(limits.memory_bytes);
      // memsw (memory + swap) must stay >= limit_in_bytes: lowering, it is written second;
      // raising (an update), the kernel refuses the limit above the old memsw, so memsw goes
      // first. Equal values mean no swap at all.
      const bool memsw = d->Has("memory.memsw.limit_in_bytes");
      Status s = d->Write("memory.limit_in_bytes", bytes);
      if (!s.ok() && s.err() == EINVAL && memsw) {
        s = d->Write("memory.memsw.limit_in_bytes", bytes);
        if (s.ok()) s = d->Write("memory.limit_in_bytes", bytes);
      } else if (s.ok() && memsw) {
        s = d->Write("memory.memsw.limit_in_bytes", bytes);
      } else if (s.ok()) {
        (void)d->Write("memory.swappiness", "0");
        if (HostHasSwap()) {
          s = Error(Code::kUnsupported,
                    fmt::format("`{}` is missing (boot with swapaccount=1): the sandbox may "
                                "swap beyond the limit",
                                d->File("memory.memsw.limit_in_bytes")));
        }
      }
      apply(name, s);
    }
  }
  if (limits.pids > 0) {
    const std::string name = LimitName(Kind::kPids, limits);
    if (const CgroupDir* d = need("pids", name)) {
      apply(name, d->Write("pids.max", std::to_string(limits.pids)));
    }
  }
  if (limits.cpu_quota_us > 0) {
    const std::string name = LimitName(Kind::kCpu, limits);
    if (const CgroupDir* d = need("cpu", name)) {
      Status s = d->Write("cpu.cfs_period_us", std::to_string(limits.cpu_period_us));
      if (s.ok()) s = d->Write("cpu.cfs_quota_us", std::to_string(limits.cpu_quota_us));
      apply(name, s);
    }
  }
  if (limits.cpu_shares > 0) {
    const std::string name = LimitName(Kind::kCpuShares, limits);
    if (const CgroupDir* d = need("cpu", name)) {
      apply(name, d->Write("cpu.shares", std::to_string(limits.cpu_shares)));
    }
  }
  if (!limits.read_bps.empty() || !limits.write_bps.empty()) {
    const std::string name = LimitName(Kind::kIo, limits);
    if (const CgroupDir* d = need("blkio", name)) {
      for (const ThrottleDevice& t : limits.read_bps) {
        apply(name, d->Write("blkio.throttle.read_bps_device",
                             fmt::format("{}:{} {}", t.major, t.minor, t.rate)));
      }
      for (const ThrottleDevice& t : limits.write_bps) {
        apply(name, d->Write("blkio.throttle.write_bps_device",
                             fmt::format("{}:{} {}", t.major, t.minor, t.rate)));
      }
    }
  }
  return out;
}

Status V1Manager::Join(pid_t pid, bool /*in_v2*/) {
  for (const auto& g : groups_) HIVE_TRY(g.dir.Write("cgroup.procs", std::to_string(pid)));
  return Ok();
}

Result<Stats> V1Manager::ReadStats() {
  Stats st;
  if (const CgroupDir* d = For("memory")) {
    HIVE_ASSIGN_OR_RETURN(st.memory_peak_bytes, d->ReadU64("memory.max_usage_in_bytes"));
    // "oom_kill N" appeared in 4.13; older kernels only say under_oom.
    HIVE_ASSIGN_OR_RETURN(auto oom, d->ReadKeyed("memory.oom_control"));
    st.oom_kill_count = oom["oom_kill"];
    st.oom_killed = st.oom_kill_count > 0 || oom["under_oom"] > 0;
  }
  if (const CgroupDir* d = For("pids")) {
    if (d->Has("pids.peak")) {
      HIVE_ASSIGN_OR_RETURN(st.pids_peak, d->ReadU64("pids.peak"));
    } else {
      HIVE_ASSIGN_OR_RETURN(uint64_t now, d->ReadU64("pids.current"));
      pids_seen_peak_ = std::max(pids_seen_peak_, now);
      st.pids_peak = pids_seen_peak_;
    }
    HIVE_ASSIGN_OR_RETURN(auto ev, d->ReadKeyed("pids.events"));
    st.pids_limit_hit = ev["max"] > 0;
  }
  if (const CgroupDir* d = For("cpuacct")) {
    if (d->Has("cpuacct.usage_user")) {
      HIVE_ASSIGN_OR_RETURN(uint64_t user_ns, d->ReadU64("cpuacct.usage_user"));
      HIVE_ASSIGN_OR_RETURN(uint64_t sys_ns, d->ReadU64("cpuacct.usage_sys"));
      st.cpu_user_ms = user_ns / 1000000;
      st.cpu_system_ms = sys_ns / 1000000;
    } else {
      // cpuacct.stat counts USER_HZ ticks.
      HIVE_ASSIGN_OR_RETURN(auto ticks, d->ReadKeyed("cpuacct.stat"));
      const uint64_t hz = static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
      st.cpu_user_ms = ticks["user"] * 1000 / hz;
      st.cpu_system_ms = ticks["system"] * 1000 / hz;
    }
    HIVE_ASSIGN_OR_RETURN(st.cpu_usage_ns, d->ReadU64("cpuacct.usage"));
    // The user/system split is sampled at each tick and can be off by tens of percent for a
    // short run; cpuacct.usage is exact. Keep the split, scale it to the exact total.
    const uint64_t split_ms = st.cpu_user_ms + st.cpu_system_ms;
    const uint64_t total_ms = st.cpu_usage_ns / 1000000;
    if (split_ms > 0) {
      st.cpu_user_ms = total_ms * st.cpu_user_ms / split_ms;
      st.cpu_system_ms = total_ms - st.cpu_user_ms;
    } else {
      st.cpu_user_ms = total_ms;
    }
  }
  if (const CgroupDir* d = For("blkio")) {
    HIVE_ASSIGN_OR_RETURN(std::string text, d->Read("blkio.throttle.io_service_bytes_recursive"));
    const IoBytes b = ParseBlkioServiceBytes(text);
    st.io_read_bytes = b.read;
    st.io_write_bytes = b.write;
    st.io_measured = true;
  }
  return st;
}

Result<bool> V1Manager::Populated() const {
  for (const auto& g : groups_) {
    HIVE_ASSIGN_OR_RETURN(std::vector<pid_t> pids, g.dir.Procs());
    if (!pids.empty()) return true;
  }
  return false;
}

Status V1Manager::WaitEmpty(Clock::time_point deadline) const {
  // v1 has no "populated" notification for us (that would be a release agent); tasks leave
  // their cgroups within milliseconds of SIGKILL, so a short sleep between checks suffices.
  for (;;) {
    HIVE_ASSIGN_OR_RETURN(bool populated, Populated());
    if (!populated) return Ok();
    if (PastDeadline(deadline)) {
      return Error(Code::kInternal,
                   fmt::format("v1 cgroups of `{}` still have processes after "
                               "{} ms",
                               groups_.front().dir.path(), kSettleTimeout.count()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

Status V1Manager::Kill() {
  const Clock::time_point deadline = Clock::now() + kSettleTimeout;
  const CgroupDir* freezer = For("freezer");
  if (freezer != nullptr) {
    // Frozen tasks cannot fork, so the list read below is complete; SIGKILL is delivered
    // when they thaw.
    HIVE_TRY(freezer->Write("freezer.state", "FROZEN"));
    for (;;) {
      HIVE_ASSIGN_OR_RETURN(std::string state, freezer->Read("freezer.state"));
      if (state.rfind("FROZEN", 0) == 0) break;
      // A task in uninterruptible sleep can hold FREEZING; kill what is listed anyway.
      if (PastDeadline(deadline)) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    HIVE_ASSIGN_OR_RETURN(std::vector<pid_t> pids, freezer->Procs());
    for (pid_t p : pids) ::kill(p, SIGKILL);
    HIVE_TRY(freezer->Write("freezer.state", "THAWED"));
  }
  // Without a freezer (or for tasks that raced the freeze): kill until nothing is listed.
  // A fork bomb cannot outrun this for long: every round kills all it has made so far.
  for (const auto& g : groups_) {
    for (;;) {
      HIVE_ASSIGN_OR_RETURN(std::vector<pid_t> pids, g.dir.Procs());
      if (pids.empty() || freezer != nullptr) break;
      for (pid_t p : pids) ::kill(p, SIGKILL);
      if (PastDeadline(deadline)) {
        return Error(Code::kInternal, fmt::format("`{}`: processes survive SIGKILL", g.dir.path()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return Ok();
}

Status V1Manager::Destroy() {
  if (destroyed_) return Ok();
  const Clock::time_point deadline = Clock::now() + kSettleTimeout;
  Result<bool> populated = Populated();
  if (!populated.ok() || *populated) HIVE_TRY(Kill());
  HIVE_TRY(WaitEmpty(deadline));
  Status first;
  for (auto& g : groups_) {
    Status s = g.dir.Remove(deadline);
    if (first.ok()) first = s;
  }
  if (first.ok()) destroyed_ = true;
  return first;
}

}  // namespace hive::cgroups
