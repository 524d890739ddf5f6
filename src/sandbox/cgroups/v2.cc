// cgroup v2 backend: one directory in the unified hierarchy.
#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <sstream>

#include "base/files.h"
#include "sandbox/cgroups/backends.h"

namespace hive::cgroups {
namespace {

std::set<std::string> Words(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

// State of the "no internal processes" workaround, shared by every run of this process.
struct SelfLeaf {
  std::mutex mu;
  std::string own_dir;               // where hive-run was before it moved
  std::string leaf;                  // own_dir/hive-run-supervisor.<pid>
  std::vector<std::string> enabled;  // controllers we added to own's subtree_control
  int users = 0;                     // runs that rely on it
};
SelfLeaf& Self() {
  static SelfLeaf s;
  return s;
}

Status MoveSelfToLeaf(const std::string& own_dir) {
  HIVE_ASSIGN_OR_RETURN(std::string procs, ReadFile(own_dir + "/cgroup.procs"));
  const std::set<std::string> pids = Words(procs);
  const std::string me = std::to_string(::getpid());
  if (pids != std::set<std::string>{me}) {
    return Error(Code::kFailedPrecondition,
                 fmt::format("`{}` holds {} other process(es); cgroup v2 allows controllers "
                             "only in cgroups without processes: run hive-run in a cgroup of "
                             "its own (systemd-run --scope -p Delegate=yes)",
                             own_dir, pids.size() - pids.count(me)));
  }
  const std::string leaf = own_dir + "/hive-run-supervisor." + me;
  if (::mkdir(leaf.c_str(), 0755) != 0 && errno != EEXIST) {
    return Errno(fmt::format("mkdir `{}`", leaf));
  }
  HIVE_TRY(WriteControlFile(leaf + "/cgroup.procs", me));
  Self().own_dir = own_dir;
  Self().leaf = leaf;
  return Ok();
}

}  // namespace

std::map<std::string, Status> EnableControllers(const std::string& own_dir,
                                                const std::set<std::string>& wanted) {
  std::map<std::string, Status> failed;
  if (wanted.empty()) return failed;
  SelfLeaf& self = Self();
  std::lock_guard<std::mutex> lock(self.mu);
  const std::string file = own_dir + "/cgroup.subtree_control";
  Result<std::string> current = ReadFile(file);
  if (!current.ok()) {
    for (const auto& c : wanted) failed[c] = current.status();
    return failed;
  }
  const std::set<std::string> enabled = Words(*current);
  for (const auto& c : wanted) {
    if (enabled.count(c)) continue;
    Status s = WriteControlFile(file, "+" + c);
    if (!s.ok() && s.err() == EBUSY && self.leaf.empty()) {
      Status moved = MoveSelfToLeaf(own_dir);
      s = moved.ok() ? WriteControlFile(file, "+" + c) : s.Wrap(moved.message());
    }
    if (s.ok()) {
      self.enabled.push_back(c);
    } else {
      failed[c] = s;
    }
  }
  return failed;
}

void RetainControllers() {
  SelfLeaf& self = Self();
  std::lock_guard<std::mutex> lock(self.mu);
  ++self.users;
}

void ReleaseControllers() {
  SelfLeaf& self = Self();
  std::lock_guard<std::mutex> lock(self.mu);
  if (--self.users > 0 || self.leaf.empty()) return;
  // Only when no other cgroup is left beside our leaf: disabling a controller would take it
  // from another run's cgroup.
  Result<std::vector<std::string>> children = SubCgroups(self.own_dir);
  if (!children.ok()) return;
  for (const auto& name : *children) {
    if (self.own_dir + "/" + name != self.leaf) return;
  }
  for (const auto& c : self.enabled) {
    (void)WriteControlFile(self.own_dir + "/cgroup.subtree_control", "-" + c);
  }
  if (WriteControlFile(self.own_dir + "/cgroup.procs", std::to_string(::getpid())).ok()) {
    ::rmdir(self.leaf.c_str());
    self.leaf.clear();
    self.enabled.clear();
  }
}

V2Manager::V2Manager(CgroupDir dir, bool retain_controllers)
    : dir_(std::move(dir)), retains_controllers_(retain_controllers) {
  if (retains_controllers_) RetainControllers();
}

V2Manager::~V2Manager() {
  if (!destroyed_) (void)Destroy();
}

std::vector<Unenforced> V2Manager::ApplyLimits(const Limits& limits) {
  std::vector<Unenforced> out;
  auto apply = [&](const std::string& limit, const Status& s) {
    if (!s.ok()) out.push_back({limit, s});
  };
  if (limits.memory_bytes > 0) {
    const std::string name = LimitName(Kind::kMemory, limits);
    Status s = dir_.Write("memory.max", std::to_string(limits.memory_bytes));
    // Swap off: without it the limit only moves the overflow to swap.
    if (s.ok() && dir_.Has("memory.swap.max")) {
      s = dir_.Write("memory.swap.max", "0");
    } else if (s.ok() && HostHasSwap()) {
      s = Error(Code::kUnsupported,
                fmt::format("`{}` is missing (swap accounting off): the sandbox may swap "
                            "beyond the limit",
                            dir_.File("memory.swap.max")));
    }
    apply(name, s);
  }
  if (limits.pids > 0) {
    apply(LimitName(Kind::kPids, limits), dir_.Write("pids.max", std::to_string(limits.pids)));
  }
  if (limits.cpu_quota_us > 0) {
    apply(LimitName(Kind::kCpu, limits),
          dir_.Write("cpu.max", fmt::format("{} {}", limits.cpu_quota_us, limits.cpu_period_us)));
  }
  if (limits.cpu_shares > 0) {
    apply(LimitName(Kind::kCpuShares, limits),
          dir_.Write("cpu.weight", std::to_string(CpuWeight(limits.cpu_shares))));
  }
  if (!limits.read_bps.empty() || !limits.write_bps.empty()) {
    const std::string name = LimitName(Kind::kIo, limits);
    // One io.max line per device, with both directions where both are set.
    std::map<std::pair<int64_t, int64_t>, std::string> lines;
    for (const ThrottleDevice& t : limits.read_bps) {
      lines[{t.major, t.minor}] += fmt::format(" rbps={}", t.rate);
    }
    for (const ThrottleDevice& t : limits.write_bps) {
      lines[{t.major, t.minor}] += fmt::format(" wbps={}", t.rate);
    }
    for (const auto& [dev, rates] : lines) {
      apply(name, dir_.Write("io.max", fmt::format("{}:{}{}", dev.first, dev.second, rates)));
    }
  }
  return out;
}

Status V2Manager::Join(pid_t pid, bool in_v2) {
  return in_v2 ? Ok() : dir_.Write("cgroup.procs", std::to_string(pid));
}

Result<Stats> V2Manager::ReadStats() {
  Stats st;
  // cpu.stat is there without the cpu controller: the core accounts every cgroup.
  HIVE_ASSIGN_OR_RETURN(auto cpu, dir_.ReadKeyed("cpu.stat"));
  st.cpu_user_ms = cpu["user_usec"] / 1000;
  st.cpu_system_ms = cpu["system_usec"] / 1000;
  st.cpu_usage_ns = cpu["usage_usec"] * 1000;
  if (dir_.Has("memory.peak")) {
    HIVE_ASSIGN_OR_RETURN(st.memory_peak_bytes, dir_.ReadU64("memory.peak"));
  }
  if (dir_.Has("memory.events")) {
    HIVE_ASSIGN_OR_RETURN(auto ev, dir_.ReadKeyed("memory.events"));
    st.oom_kill_count = ev["oom_kill"];
    st.oom_killed = st.oom_kill_count > 0;
  }
  if (dir_.Has("pids.peak")) {
    HIVE_ASSIGN_OR_RETURN(st.pids_peak, dir_.ReadU64("pids.peak"));
  } else if (dir_.Has("pids.current")) {
    HIVE_ASSIGN_OR_RETURN(uint64_t now, dir_.ReadU64("pids.current"));
    pids_seen_peak_ = std::max(pids_seen_peak_, now);
    st.pids_peak = pids_seen_peak_;
  }
  if (dir_.Has("pids.events")) {
    HIVE_ASSIGN_OR_RETURN(auto ev, dir_.ReadKeyed("pids.events"));
    st.pids_limit_hit = ev["max"] > 0;
  }
  if (dir_.Has("io.stat")) {
    HIVE_ASSIGN_OR_RETURN(std::string io, dir_.Read("io.stat"));
    const IoBytes b = ParseIoStat(io);
    st.io_read_bytes = b.read;
    st.io_write_bytes = b.write;
    st.io_measured = true;
    st.io_buffered_writes_seen = true;
  }
  return st;
}

Status V2Manager::Kill() {
  // One write kills every task in the subtree, including ones that forked a moment ago:
  // the kernel blocks forks into a cgroup being killed.
  return dir_.Write("cgroup.kill", "1");
}

Result<bool> V2Manager::Populated() const {
  HIVE_ASSIGN_OR_RETURN(auto ev, dir_.ReadKeyed("cgroup.events"));
  return ev["populated"] != 0;
}

Status V2Manager::WaitEmpty(Clock::time_point deadline) const {
  UniqueFd fd(::openat(dir_.fd(), "cgroup.events", O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Errno(fmt::format("open `{}`", dir_.File("cgroup.events")));
  for (;;) {
    // The kernel signals a change of cgroup.events with POLLPRI; read it after arming.
    char buf[256];
    const ssize_t n = ::pread(fd.get(), buf, sizeof buf - 1, 0);
    if (n < 0) return Errno(fmt::format("read `{}`", dir_.File("cgroup.events")));
    if (ParseKeyed(std::string(buf, static_cast<size_t>(n)))["populated"] == 0) return Ok();
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      return Error(Code::kInternal, fmt::format("`{}` still has processes after {} ms", dir_.path(),
                                                kSettleTimeout.count()));
    }
    pollfd p{fd.get(), POLLPRI, 0};
    if (::poll(&p, 1, static_cast<int>(left)) < 0 && errno != EINTR) {
      return Errno(fmt::format("poll `{}`", dir_.File("cgroup.events")));
    }
  }
}

void V2Manager::Release() {
  dir_.Release();
  destroyed_ = true;
  if (retains_controllers_) ReleaseControllers();
}

Status V2Manager::Destroy() {
  if (destroyed_ || dir_.empty()) return Ok();
  const Clock::time_point deadline = Clock::now() + kSettleTimeout;
  Result<bool> populated = Populated();
  if (populated.ok() && *populated) HIVE_TRY(Kill());
  HIVE_TRY(WaitEmpty(deadline));
  HIVE_TRY(dir_.Remove(deadline));
  destroyed_ = true;
  if (retains_controllers_) ReleaseControllers();
  return Ok();
}

}  // namespace hive::cgroups
