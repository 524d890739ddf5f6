// CreateForRun(): decides which hierarchy enforces which limit, creates the run's cgroups
// and hands back one CgroupManager over them; SweepStale() and the composite manager.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <sstream>

#include "base/files.h"
#include "base/unique_fd.h"
#include "sandbox/cgroups/backends.h"

namespace hive::cgroups {
namespace {

constexpr Kind kKinds[] = {Kind::kMemory, Kind::kPids, Kind::kCpu, Kind::kCpuShares, Kind::kIo};

const char* V1Controller(Kind k) {
  switch (k) {
    case Kind::kMemory:
      return "memory";
    case Kind::kPids:
      return "pids";
    case Kind::kCpu:
    case Kind::kCpuShares:
      return "cpu";
    case Kind::kIo:
      return "blkio";
  }
  return "";
}

const char* V2Controller(Kind k) { return k == Kind::kIo ? "io" : V1Controller(k); }

bool IsSet(Kind k, const Limits& l) {
  switch (k) {
    case Kind::kMemory:
      return l.memory_bytes > 0;
    case Kind::kPids:
      return l.pids > 0;
    case Kind::kCpu:
      return l.cpu_quota_us > 0;
    case Kind::kCpuShares:
      return l.cpu_shares > 0;
    case Kind::kIo:
      return !l.read_bps.empty() || !l.write_bps.empty();
  }
  return false;
}

// Copies limit `k` from `from` into `to`; with `from` null, clears it in `to`.
void CopyLimit(Kind k, const Limits* from, Limits* to) {
  static const Limits kNone;
  if (from == nullptr) from = &kNone;
  switch (k) {
    case Kind::kMemory:
      to->memory_bytes = from->memory_bytes;
      break;
    case Kind::kPids:
      to->pids = from->pids;
      break;
    case Kind::kCpu:
      to->cpu_quota_us = from->cpu_quota_us;
      to->cpu_period_us = from->cpu_period_us;
      break;
    case Kind::kCpuShares:
      to->cpu_shares = from->cpu_shares;
      break;
    case Kind::kIo:
      to->read_bps = from->read_bps;
      to->write_bps = from->write_bps;
      break;
  }
}

Limits WithoutCgroupLimits(const Limits& l) {
  Limits out = l;
  for (Kind k : kKinds) CopyLimit(k, nullptr, &out);
  return out;
}

Status CheckRunId(const std::string& run_id) {
  const bool ok = !run_id.empty() && run_id.size() <= 128 && run_id != "." && run_id != ".." &&
                  run_id.find_first_not_of(
                      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                      "0123456789._-") == std::string::npos;
  if (ok) return Ok();
  return Error(
      Code::kInvalidArgument,
      fmt::format("run id `{}`: expected 1-128 of [A-Za-z0-9._-] for a cgroup name", run_id));
}

// Where `cgroups_path` lives in hierarchy `h`: (existing base directory, path below it).
Result<std::pair<std::string, std::string>> Placement(const Hierarchy& h, const std::string& run_id,
                                                      const std::string& cgroups_path) {
  if (cgroups_path.empty()) return std::make_pair(h.own_dir, "hive-run-" + run_id);
  if (cgroups_path.front() != '/') return std::make_pair(h.own_dir, cgroups_path);
  // Absolute: from the hierarchy's root, which must be inside the mounted subtree.
  const std::string root = h.mount_root == "/" ? "" : h.mount_root;
  if (!root.empty() && cgroups_path.compare(0, root.size() + 1, root + "/") != 0) {
    return Error(Code::kInvalidArgument,
                 fmt::format("cgroupsPath `{}` is outside the subtree `{}` mounted at `{}`",
                             cgroups_path, h.mount_root, h.mount_point));
  }
  return std::make_pair(h.mount_point, cgroups_path.substr(root.size()));
}

// The controllers listed in `own_dir`/cgroup.controllers ("cpu io memory pids").
std::set<std::string> ReadControllers(const std::string& own_dir) {
  std::set<std::string> out;
  Result<std::string> text = ReadFile(own_dir + "/cgroup.controllers");
  if (!text.ok()) return out;
  std::istringstream in(*text);
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

Layout WithoutUnified(const Layout& layout) {
  Layout out{layout.kind, {}};
  for (const auto& h : layout.hierarchies) {
    if (!h.unified) out.hierarchies.push_back(h);
  }
  return out;
}

Stats Merge(const Stats& a, const Stats& b) {
  // Each backend measures what its controllers hold and leaves the rest zero.
  Stats m;
  m.cpu_user_ms = std::max(a.cpu_user_ms, b.cpu_user_ms);
  m.cpu_system_ms = std::max(a.cpu_system_ms, b.cpu_system_ms);
  m.memory_peak_bytes = std::max(a.memory_peak_bytes, b.memory_peak_bytes);
  m.pids_peak = std::max(a.pids_peak, b.pids_peak);
  m.io_read_bytes = std::max(a.io_read_bytes, b.io_read_bytes);
  m.io_write_bytes = std::max(a.io_write_bytes, b.io_write_bytes);
  m.oom_killed = a.oom_killed || b.oom_killed;
  m.oom_kill_count = std::max(a.oom_kill_count, b.oom_kill_count);
  m.pids_limit_hit = a.pids_limit_hit || b.pids_limit_hit;
  m.cpu_usage_ns = std::max(a.cpu_usage_ns, b.cpu_usage_ns);
  m.io_measured = a.io_measured || b.io_measured;
  m.io_buffered_writes_seen = a.io_buffered_writes_seen || b.io_buffered_writes_seen;
  return m;
}

}  // namespace

Limits LimitsFor(const ResourcesSpec& r, bool cpu_accounting) {
  Limits l;
  if (r.memory_limit && *r.memory_limit > 0) {
    l.memory_bytes = static_cast<uint64_t>(*r.memory_limit);
  }
  if (r.pids_limit && *r.pids_limit > 0) l.pids = static_cast<uint64_t>(*r.pids_limit);
  if (r.cpu_quota && *r.cpu_quota > 0) {
    l.cpu_quota_us = static_cast<uint64_t>(*r.cpu_quota);
    l.cpu_period_us = r.cpu_period.value_or(100000);
  }
  if (r.cpu_shares && *r.cpu_shares > 0) l.cpu_shares = *r.cpu_shares;
  l.read_bps = r.read_bps;
  l.write_bps = r.write_bps;
  l.cpu_accounting = cpu_accounting;
  return l;
}

uint64_t CpuWeight(uint64_t shares) {
  shares = std::clamp<uint64_t>(shares, 2, 262144);
  return 1 + ((shares - 2) * 9999) / 262142;
}

std::string LimitName(Kind k, const Limits& l) {
  auto devices = [](const char* what, const std::vector<ThrottleDevice>& list) {
    std::string out;
    for (const ThrottleDevice& d : list) {
      out += fmt::format("{}{}:{} {} {} B/s", out.empty() ? "" : ", ", d.major, d.minor, what,
                         d.rate);
    }
    return out;
  };
  switch (k) {
    case Kind::kMemory:
      return fmt::format("linux.resources.memory.limit={}", l.memory_bytes);
    case Kind::kPids:
      return fmt::format("linux.resources.pids.limit={}", l.pids);
    case Kind::kCpu:
      return fmt::format("linux.resources.cpu.quota={}/period={}", l.cpu_quota_us,
                         l.cpu_period_us);
    case Kind::kCpuShares:
      return fmt::format("linux.resources.cpu.shares={}", l.cpu_shares);
    case Kind::kIo: {
      std::string r = devices("read", l.read_bps), w = devices("write", l.write_bps);
      return fmt::format("linux.resources.blockIO ({}{}{})", r, r.empty() || w.empty() ? "" : ", ",
                         w);
    }
  }
  return "";
}

std::string Unenforced::Text() const {
  return fmt::format("{} not enforced: {}", limit, why.message());
}

Plan MakePlan(const Layout& layout, const Limits& limits,
              const std::set<std::string>& v2_available) {
  Plan plan;
  plan.v1_limits = WithoutCgroupLimits(limits);
  plan.v2_limits = WithoutCgroupLimits(limits);
  const Hierarchy* uni = layout.Unified();
  plan.v2_dir = uni != nullptr && !uni->own_dir.empty();

  for (Kind k : kKinds) {
    if (!IsSet(k, limits)) continue;
    const Hierarchy* h = layout.ForController(V1Controller(k));
    if (h != nullptr && !h->own_dir.empty()) {
      plan.v1_controllers.insert(V1Controller(k));
      CopyLimit(k, &limits, &plan.v1_limits);
      continue;
    }
    if (plan.v2_dir && v2_available.count(V2Controller(k))) {
      plan.v2_controllers.insert(V2Controller(k));
      CopyLimit(k, &limits, &plan.v2_limits);
      continue;
    }
    std::string why;
    if (h != nullptr) {
      why = fmt::format("hive-run's `{}` cgroup `{}` is outside the subtree mounted at `{}`",
                        V1Controller(k), h->own_path, h->mount_point);
    } else if (layout.kind == LayoutKind::kNone) {
      why = "no cgroup filesystem is mounted";
    } else if (plan.v2_dir) {
      why = fmt::format("no `{}` controller: not a mounted v1 hierarchy and not in `{}`",
                        V2Controller(k), uni->own_dir + "/cgroup.controllers");
    } else {
      why = fmt::format("no `{}` controller is mounted", V1Controller(k));
    }
    plan.unenforced.push_back({LimitName(k, limits), Error(Code::kUnsupported, why)});
  }

  // Without a v2 directory, v1 supplies what v2 gives for free: a tree-wide kill (freezer)
  // and whole-sandbox CPU accounting (cpuacct).
  if (!plan.v2_dir) {
    auto usable = [&](const char* c) {
      const Hierarchy* h = layout.ForController(c);
      return h != nullptr && !h->own_dir.empty();
    };
    if (usable("freezer")) plan.v1_controllers.insert("freezer");
    if ((limits.cpu_accounting || limits.cpu_quota_us > 0) && usable("cpuacct")) {
      plan.v1_controllers.insert("cpuacct");
    }
  }
  return plan;
}

bool HostHasSwap() {
  Result<std::string> swaps = ReadFile("/proc/swaps");
  if (!swaps.ok()) return false;
  // The first line is the header.
  return std::count(swaps->begin(), swaps->end(), '\n') > 1;
}

Result<std::unique_ptr<CgroupManager>> CreateWithLayout(const Layout& layout,
                                                        const std::string& run_id,
                                                        const Limits& limits,
                                                        const std::string& cgroups_path) {
  HIVE_TRY(CheckRunId(run_id));
  if (cgroups_path.find(':') != std::string::npos && cgroups_path.front() != '/') {
    return Error(Code::kUnsupported,
                 fmt::format("cgroupsPath `{}`: systemd slice:prefix:name paths need the systemd "
                             "cgroup driver, which hive-run does not have",
                             cgroups_path));
  }
  const Hierarchy* uni = layout.Unified();
  std::set<std::string> v2_available;
  if (uni != nullptr && !uni->own_dir.empty()) v2_available = ReadControllers(uni->own_dir);
  Plan plan = MakePlan(layout, limits, v2_available);
  std::vector<Unenforced> unenforced = plan.unenforced;
  std::vector<std::string> notes;

  // Marks every limit routed to `controllers` as unenforced because of `why`.
  auto lose = [&](Limits* routed, const std::vector<std::string>& controllers, bool v2,
                  const Status& why) {
    for (Kind k : kKinds) {
      const std::string c = v2 ? V2Controller(k) : V1Controller(k);
      if (!IsSet(k, *routed) ||
          std::find(controllers.begin(), controllers.end(), c) == controllers.end()) {
        continue;
      }
      unenforced.push_back({LimitName(k, limits), why});
      CopyLimit(k, nullptr, routed);
    }
  };

  std::unique_ptr<V2Manager> v2;
  if (plan.v2_dir) {
    for (const auto& [controller, why] : EnableControllers(uni->own_dir, plan.v2_controllers)) {
      lose(&plan.v2_limits, {controller}, true, why);
    }
    HIVE_ASSIGN_OR_RETURN(auto where, Placement(*uni, run_id, cgroups_path));
    Result<CgroupDir> dir = CgroupDir::Create(where.first, where.second);
    if (dir.ok()) {
      v2 = std::make_unique<V2Manager>(std::move(dir).value(), /*retain_controllers=*/true);
      for (auto& u : v2->ApplyLimits(plan.v2_limits)) unenforced.push_back(u);
    } else if (dir.status().code() == Code::kInvalidArgument) {
      return dir.status();  // the name is taken: never share another run's cgroup
    } else {
      lose(&plan.v2_limits, {"memory", "pids", "cpu", "io"}, true, dir.status());
      notes.push_back("no cgroup v2 directory: " + dir.status().message());
      const Plan fallback = MakePlan(WithoutUnified(layout), limits, {});
      plan.v1_controllers.insert(fallback.v1_controllers.begin(), fallback.v1_controllers.end());
    }
  }

  std::vector<V1Manager::Group> groups;
  std::set<std::string> mounted;  // hierarchies already given a directory
  for (const auto& controller : plan.v1_controllers) {
    const Hierarchy* h = layout.ForController(controller);
    if (h == nullptr || !mounted.insert(h->mount_point).second) continue;
    HIVE_ASSIGN_OR_RETURN(auto where, Placement(*h, run_id, cgroups_path));
    Result<CgroupDir> dir = CgroupDir::Create(where.first, where.second);
    if (dir.ok()) {
      groups.push_back({h->controllers, std::move(dir).value()});
    } else if (dir.status().code() == Code::kInvalidArgument) {
      return dir.status();
    } else {
      lose(&plan.v1_limits, h->controllers, false, dir.status());
    }
  }
  std::unique_ptr<V1Manager> v1;
  if (!groups.empty()) {
    v1 = std::make_unique<V1Manager>(std::move(groups));
    for (auto& u : v1->ApplyLimits(plan.v1_limits)) unenforced.push_back(u);
  }
  if (!v2 && !v1) {
    notes.push_back(
        "no cgroup to kill the sandbox through: only its pid namespace (init dying) stops "
        "every process");
  } else if (!v2 && v1->For("freezer") == nullptr) {
    notes.push_back(
        "no freezer cgroup: the sandbox is killed by signalling what its cgroups list until "
        "nothing is left");
  }

  // A limit the policy sets is enforced, or the run does not start.
  if (!unenforced.empty()) {
    std::string msg = "the run's limits cannot be enforced here";
    for (const auto& u : unenforced) msg += "; " + u.Text();
    return Error(Code::kFailedPrecondition, msg);
  }
  std::vector<std::string> warnings;
  for (const auto& u : unenforced) warnings.push_back(u.Text());
  warnings.insert(warnings.end(), notes.begin(), notes.end());
  return std::unique_ptr<CgroupManager>(
      std::make_unique<CompositeManager>(std::move(v1), std::move(v2), std::move(warnings)));
}

Result<std::unique_ptr<CgroupManager>> CreateForRun(const std::string& run_id,
                                                    const Limits& limits,
                                                    const std::string& cgroups_path) {
  HIVE_ASSIGN_OR_RETURN(Layout layout, DetectLayout());
  return CreateWithLayout(layout, run_id, limits, cgroups_path);
}

Status SweepStale() {
  HIVE_ASSIGN_OR_RETURN(Layout layout, DetectLayout());
  return SweepStale(layout);
}

Status SweepStale(const Layout& layout) {
  Status first;
  const std::string kPrefix = "hive-run-";
  for (const auto& h : layout.hierarchies) {
    if (h.own_dir.empty()) continue;
    Result<std::vector<std::string>> children = SubCgroups(h.own_dir);
    if (!children.ok()) continue;
    UniqueFd base(::open(h.own_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!base.valid()) continue;
    for (const auto& name : *children) {
      if (name.compare(0, kPrefix.size(), kPrefix) != 0) continue;
      // Exclusive on the parent: no other hive-run is between the mkdir and the flock of a
      // new cgroup (CgroupDir::Create holds it shared across both). Busy: a run is starting,
      // and the next sweep will see its cgroup locked.
      if (::flock(base.get(), LOCK_EX | LOCK_NB) != 0) break;
      const std::string path = h.own_dir + "/" + name;
      UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      // A live hive-run holds its lock until Destroy(); the kernel drops it when one dies.
      std::vector<pid_t> procs;
      if (fd.valid() && ::flock(fd.get(), LOCK_EX | LOCK_NB) == 0 &&
          CollectProcs(path, &procs).ok() && procs.empty()) {
        Status s = RemoveTree(path, Clock::now() + std::chrono::seconds(1));
        if (!s.ok() && first.ok()) first = s.Wrap("sweep stale cgroup");
      }
      ::flock(base.get(), LOCK_UN);
    }
  }
  return first;
}

CompositeManager::CompositeManager(std::unique_ptr<V1Manager> v1, std::unique_ptr<V2Manager> v2,
                                   std::vector<std::string> warnings)
    : v1_(std::move(v1)), v2_(std::move(v2)), warnings_(std::move(warnings)) {}

CompositeManager::~CompositeManager() {
  if (!destroyed_) (void)Destroy();
}

Status CompositeManager::Join(pid_t pid, bool in_v2) {
  if (v2_) HIVE_TRY(v2_->Join(pid, in_v2));
  if (v1_) HIVE_TRY(v1_->Join(pid, in_v2));
  return Ok();
}

Result<Stats> CompositeManager::ReadStats() {
  Stats st;
  if (v2_) {
    HIVE_ASSIGN_OR_RETURN(Stats s, v2_->ReadStats());
    st = Merge(st, s);
  }
  if (v1_) {
    HIVE_ASSIGN_OR_RETURN(Stats s, v1_->ReadStats());
    st = Merge(st, s);
  }
  return st;
}

Status CompositeManager::Kill() {
  // Every process is in the v2 directory (clone-into or Join), so cgroup.kill reaches all.
  if (v2_) return v2_->Kill();
  if (v1_) return v1_->Kill();
  return Error(Code::kUnsupported, "no cgroup to kill the sandbox through");
}

std::vector<std::string> CompositeManager::Paths() const {
  std::vector<std::string> out;
  if (v2_) out = v2_->Paths();
  if (v1_) {
    for (std::string& p : v1_->Paths()) out.push_back(std::move(p));
  }
  return out;
}

void CompositeManager::Release() {
  if (v2_) v2_->Release();
  if (v1_) v1_->Release();
  destroyed_ = true;
}

namespace {

// The mounted hierarchy a run's cgroup directory lies in.
Result<const Hierarchy*> HierarchyOf(const Layout& layout, const std::string& dir) {
  for (const Hierarchy& h : layout.hierarchies) {
    if (dir.compare(0, h.mount_point.size() + 1, h.mount_point + "/") == 0) return &h;
  }
  return Error(Code::kNotFound,
               fmt::format("cgroup `{}` is in no cgroup hierarchy mounted here", dir));
}

}  // namespace

Result<std::unique_ptr<CgroupManager>> AdoptRun(const Layout& layout,
                                                const std::vector<std::string>& dirs) {
  std::unique_ptr<V2Manager> v2;
  std::vector<V1Manager::Group> groups;
  for (const std::string& dir : dirs) {
    HIVE_ASSIGN_OR_RETURN(const Hierarchy* found, HierarchyOf(layout, dir));
    HIVE_ASSIGN_OR_RETURN(CgroupDir d, CgroupDir::AdoptOwned(dir));
    if (found->unified) {
      v2 = std::make_unique<V2Manager>(std::move(d));
    } else {
      groups.push_back({found->controllers, std::move(d)});
    }
  }
  std::unique_ptr<V1Manager> v1;
  if (!groups.empty()) v1 = std::make_unique<V1Manager>(std::move(groups));
  return std::unique_ptr<CgroupManager>(
      std::make_unique<CompositeManager>(std::move(v1), std::move(v2), std::vector<std::string>{}));
}

Status UpdateLimits(const Layout& layout, const std::vector<std::string>& dirs,
                    const Limits& limits) {
  // Borrowed directories: the backends write into them and give them back untouched (Release
  // before they go, or their destructors would kill and remove the run).
  std::unique_ptr<V2Manager> v2;
  std::vector<V1Manager::Group> groups;
  std::set<std::string> v2_enabled;
  for (const std::string& dir : dirs) {
    HIVE_ASSIGN_OR_RETURN(const Hierarchy* found, HierarchyOf(layout, dir));
    HIVE_ASSIGN_OR_RETURN(CgroupDir d, CgroupDir::Adopt(dir));
    if (found->unified) {
      // What the parent enabled for this directory: its own cgroup.controllers.
      v2_enabled = ReadControllers(dir);
      v2 = std::make_unique<V2Manager>(std::move(d));
    } else {
      groups.push_back({found->controllers, std::move(d)});
    }
  }
  std::unique_ptr<V1Manager> v1;
  if (!groups.empty()) v1 = std::make_unique<V1Manager>(std::move(groups));
  Limits for_v1 = WithoutCgroupLimits(limits), for_v2 = WithoutCgroupLimits(limits);
  std::vector<Unenforced> unenforced;
  for (Kind k : kKinds) {
    if (!IsSet(k, limits)) continue;
    if (v1 && v1->For(V1Controller(k)) != nullptr) {
      CopyLimit(k, &limits, &for_v1);
    } else if (v2 && v2_enabled.count(V2Controller(k))) {
      CopyLimit(k, &limits, &for_v2);
    } else {
      unenforced.push_back(
          {LimitName(k, limits),
           Error(Code::kUnsupported,
                 fmt::format("the container has no `{}` cgroup (it was created without a limit "
                             "of this kind)",
                             V1Controller(k)))});
    }
  }
  if (unenforced.empty()) {
    if (v2) unenforced = v2->ApplyLimits(for_v2);
    if (v1) {
      for (auto& u : v1->ApplyLimits(for_v1)) unenforced.push_back(u);
    }
  }
  if (v2) v2->Release();
  if (v1) v1->Release();
  if (!unenforced.empty()) {
    std::string msg = "the container's limits cannot be updated";
    for (const auto& u : unenforced) msg += "; " + u.Text();
    return Error(Code::kFailedPrecondition, msg);
  }
  return Ok();
}

Status CompositeManager::Destroy() {
  if (destroyed_) return Ok();
  Status s2 = v2_ ? v2_->Destroy() : Ok();
  Status s1 = v1_ ? v1_->Destroy() : Ok();
  destroyed_ = s1.ok() && s2.ok();
  return s2.ok() ? s1 : s2;
}

}  // namespace hive::cgroups
