// cgroups: layout detection, planning, both backends against fixture trees, parsers, outcome
// naming and alerts. No privileges needed. The "live" suite at the end runs real workloads in
// real cgroups and skips itself unless run as root on a host with cgroups.
#include "sandbox/cgroups/cgroups.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "base/block_devices.h"
#include "hive/policy.h"
#include "runtime/report_builder.h"
#include "sandbox/cgroups/backends.h"
#include "sandbox/cgroups/cgroup_dir.h"
#include "sandbox/cgroups/layout.h"
#include "sandbox/cgroups/view.h"

namespace fs = std::filesystem;
using namespace hive;
using namespace hive::cgroups;

namespace {

// A temporary directory that is removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/hive-cgtest-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }

  // Creates `rel` (and its parents) with `content`; an empty content makes the empty file a
  // backend writes into.
  std::string Put(const std::string& rel, const std::string& content = "") const {
    const fs::path p = fs::path(path_) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << content;
    return p.string();
  }
  std::string Get(const std::string& rel) const {
    std::ifstream in(fs::path(path_) / rel);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

 private:
  std::string path_;
};

CgroupDir AdoptOrFail(const std::string& path) {
  Result<CgroupDir> d = CgroupDir::Adopt(path);
  REQUIRE_MESSAGE(d.ok(), d.status().message());
  return std::move(d).value();
}

// The tests write limits in the policy's units; the module takes the spec's (linux.resources):
// the same conversion the policy front end makes. `devices` are "MAJ:MIN" for io limits.
Limits L(const ExecutionLimits& lim, const std::vector<std::string>& devices = {}) {
  Limits l;
  l.memory_bytes = lim.memory_mb << 20;
  l.pids = lim.max_processes;
  if (lim.cpus > 0) l.cpu_quota_us = std::max<uint64_t>(1000, std::llround(lim.cpus * 100000));
  for (const std::string& d : devices) {
    ThrottleDevice t;
    std::sscanf(d.c_str(), "%ld:%ld", &t.major, &t.minor);
    if (lim.io_read_bps > 0) l.read_bps.push_back({t.major, t.minor, lim.io_read_bps});
    if (lim.io_write_bps > 0) l.write_bps.push_back({t.major, t.minor, lim.io_write_bps});
  }
  l.cpu_accounting = lim.cpu_seconds > 0;
  return l;
}

std::vector<std::string> DevicesOf(const std::vector<std::string>& paths) {
  std::vector<std::string> unresolved, out;
  for (const auto& [major, minor] : BlockDevicesFor(paths, &unresolved)) {
    out.push_back(fmt::format("{}:{}", major, minor));
  }
  return out;
}

ExecutionLimits NoLimits() {
  ExecutionLimits l;
  l.timeout_seconds = 0;
  l.cpu_seconds = 0;
  l.memory_mb = 0;
  l.file_size_mb = 0;
  l.max_processes = 0;
  l.cpus = 0;
  l.io_read_bps = 0;
  l.io_write_bps = 0;
  return l;
}

// This machine's shape: v1 controllers, a controller-less cgroup2 at /sys/fs/cgroup/unified,
// and hive-run in a non-root memory cgroup.
const char* kHybridMountinfo =
    "21 26 0:20 / /proc rw,relatime - proc proc rw\n"
    "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 30 0:33 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "37 30 0:34 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
const char* kHybridCgroup =
    "9:name=systemd:/\n8:pids:/\n7:blkio:/\n6:freezer:/\n4:memory:/process_api/abc\n"
    "2:cpuacct:/\n1:cpu:/\n0::/\n";

const char* kUnifiedMountinfo =
    "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "35 26 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 "
    "rw,nsdelegate,memory_recursiveprot\n";
const char* kUnifiedCgroup = "0::/user.slice/user-1000.slice/session-2.scope\n";

// Legacy with cpu and cpuacct co-mounted, and the freezer mounted twice.
const char* kLegacyMountinfo =
    "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"
    "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw shared:1 - cgroup cgroup rw,cpu,cpuacct\n"
    "34 30 0:31 / /sys/fs/cgroup/memory rw shared:2 - cgroup cgroup rw,memory\n"
    "36 30 0:33 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n"
    "37 30 0:33 / /mnt/freezer\\040again rw - cgroup cgroup rw,freezer\n"
    "38 30 0:35 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n";
const char* kLegacyCgroup =
    "5:pids:/docker/x\n4:freezer:/docker/x\n3:memory:/docker/x\n"
    "2:cpu,cpuacct:/docker/x\n";

}  // namespace

TEST_SUITE("layout") {
  TEST_CASE("hybrid: v1 controllers plus a controller-less v2 mount") {
    Result<Layout> l = ParseLayout(kHybridMountinfo, kHybridCgroup);
    REQUIRE(l.ok());
    CHECK(l->kind == LayoutKind::kHybrid);
    REQUIRE(l->Unified() != nullptr);
    CHECK(l->Unified()->mount_point == "/sys/fs/cgroup/unified");
    CHECK(l->Unified()->own_dir == "/sys/fs/cgroup/unified");
    REQUIRE(l->ForController("memory") != nullptr);
    CHECK(l->ForController("memory")->own_dir == "/sys/fs/cgroup/memory/process_api/abc");
    CHECK(l->ForController("pids")->own_dir == "/sys/fs/cgroup/pids");
    CHECK(l->ForController("cpu") != l->ForController("cpuacct"));
    CHECK(l->ForController("io") == nullptr);
    // name=systemd is a hierarchy without controllers: it is kept but carries none.
    CHECK(l->ForController("name=systemd") != nullptr);
  }

  TEST_CASE("unified: one cgroup2 mount, hive-run in a session scope") {
    Result<Layout> l = ParseLayout(kUnifiedMountinfo, kUnifiedCgroup);
    REQUIRE(l.ok());
    CHECK(l->kind == LayoutKind::kUnified);
    REQUIRE(l->hierarchies.size() == 1);
    CHECK(l->Unified()->own_dir == "/sys/fs/cgroup/user.slice/user-1000.slice/session-2.scope");
    CHECK(l->ForController("memory") == nullptr);
  }

  TEST_CASE("legacy: co-mounted controllers, duplicate mounts counted once") {
    Result<Layout> l = ParseLayout(kLegacyMountinfo, kLegacyCgroup);
    REQUIRE(l.ok());
    CHECK(l->kind == LayoutKind::kLegacy);
    CHECK(l->Unified() == nullptr);
    CHECK(l->hierarchies.size() == 4);
    CHECK(l->ForController("cpu") == l->ForController("cpuacct"));
    CHECK(l->ForController("cpu")->own_dir == "/sys/fs/cgroup/cpu,cpuacct/docker/x");
    CHECK(l->ForController("freezer")->mount_point == "/sys/fs/cgroup/freezer");
  }

  TEST_CASE("a mounted subtree: own cgroup below it resolves, outside it does not") {
    const char* mi = "40 30 0:37 /docker/x /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
    Result<Layout> in = ParseLayout(mi, "0::/docker/x/sub\n");
    REQUIRE(in.ok());
    CHECK(in->Unified()->own_dir == "/sys/fs/cgroup/sub");
    Result<Layout> out = ParseLayout(mi, "0::/other\n");
    REQUIRE(out.ok());
    CHECK(out->Unified()->own_dir.empty());
  }

  TEST_CASE("mount points with escaped spaces, deleted cgroups") {
    const char* mi = "40 30 0:37 / /mnt/cg\\040two rw - cgroup2 cgroup2 rw\n";
    Result<Layout> l = ParseLayout(mi, "0::/a (deleted)\n");
    REQUIRE(l.ok());
    CHECK(l->Unified()->own_dir == "/mnt/cg two/a");
  }

  TEST_CASE("no cgroup filesystem, and malformed input") {
    Result<Layout> none = ParseLayout("26 1 254:0 / / rw - ext4 /dev/vda rw\n", "0::/\n");
    REQUIRE(none.ok());
    CHECK(none->kind == LayoutKind::kNone);
    Result<Layout> bad = ParseLayout("garbage\n", "0::/\n");
    CHECK_FALSE(bad.ok());
    CHECK(bad.status().message().find("mountinfo line 1") != std::string::npos);
    Result<Layout> bad_cg = ParseLayout(kUnifiedMountinfo, "nonsense\n");
    CHECK_FALSE(bad_cg.ok());
  }

  TEST_CASE("this host's layout parses") {
    Result<Layout> l = DetectLayout();
    REQUIRE_MESSAGE(l.ok(), l.status().message());
    MESSAGE("host cgroup layout: ", std::string(LayoutKindName(l->kind)));
  }
}

TEST_SUITE("view") {
  TEST_CASE("unified: one cgroup2 mount at the destination") {
    Layout l = ParseLayout(kUnifiedMountinfo, kUnifiedCgroup).value();
    const std::string run = l.Unified()->own_dir + "/hive-run-r1";
    Result<View> v = PlanView(l, {run});
    REQUIRE_MESSAGE(v.ok(), v.status().message());
    CHECK_FALSE(v->tmpfs);
    REQUIRE(v->mounts.size() == 1);
    CHECK(v->mounts[0].dir == "");
    CHECK(v->mounts[0].fs_type == "cgroup2");
    CHECK(v->links.empty());
  }

  TEST_CASE("hybrid: only the hierarchies the run has a cgroup in, named as the host names them") {
    Layout l = ParseLayout(kHybridMountinfo, kHybridCgroup).value();
    Result<View> v = PlanView(l, {"/sys/fs/cgroup/unified/hive-run-r1",
                                  "/sys/fs/cgroup/memory/process_api/abc/hive-run-r1",
                                  "/sys/fs/cgroup/pids/hive-run-r1"});
    REQUIRE_MESSAGE(v.ok(), v.status().message());
    CHECK(v->tmpfs);
    std::set<std::string> dirs;
    for (const ViewMount& m : v->mounts) {
      dirs.insert(m.dir);
      CHECK(m.fs_type == (m.dir == "unified" ? "cgroup2" : "cgroup"));
      if (m.dir == "memory") CHECK(m.options == std::vector<std::string>{"memory"});
    }
    // cpu, systemd, freezer: the run sits in hive-run's cgroup there; not shown.
    CHECK(dirs == std::set<std::string>{"memory", "pids", "unified"});
  }

  TEST_CASE("legacy: co-mounted controllers keep the host's name, with a link per controller") {
    Layout l = ParseLayout(kLegacyMountinfo, kLegacyCgroup).value();
    Result<View> v = PlanView(l, {"/sys/fs/cgroup/cpu,cpuacct/docker/x/hive-run-r1",
                                  "/sys/fs/cgroup/freezer/docker/x/hive-run-r1"});
    REQUIRE_MESSAGE(v.ok(), v.status().message());
    REQUIRE(v->mounts.size() == 2);
    CHECK(v->mounts[0].dir == "cpu,cpuacct");
    CHECK(v->mounts[0].options == std::vector<std::string>{"cpu", "cpuacct"});
    using Link = std::pair<std::string, std::string>;
    CHECK(v->links == std::vector<Link>{{"cpu", "cpu,cpuacct"}, {"cpuacct", "cpu,cpuacct"}});
  }

  TEST_CASE("a run without a cgroup of its own has nothing to show") {
    Layout l = ParseLayout(kUnifiedMountinfo, kUnifiedCgroup).value();
    Result<View> v = PlanView(l, {});
    CHECK_FALSE(v.ok());
    CHECK(v.status().message().find("no cgroup of its own") != std::string::npos);
    // hive-run's own directory is not the run's.
    CHECK_FALSE(PlanView(l, {"/sys/fs/cgroup"}).ok());
  }
}

TEST_SUITE("plan") {
  TEST_CASE("hybrid: limits go to v1, the v2 directory gives clone-into and kill") {
    Layout l = ParseLayout(kHybridMountinfo, kHybridCgroup).value();
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 64;
    lim.max_processes = 8;
    lim.cpus = 0.5;
    lim.io_write_bps = 1 << 20;
    lim.cpu_seconds = 5;
    Plan p = MakePlan(l, L(lim, {"8:0"}), {});
    CHECK(p.v2_dir);
    CHECK(p.v2_controllers.empty());
    CHECK(p.v1_controllers == std::set<std::string>{"blkio", "cpu", "memory", "pids"});
    CHECK(p.v1_limits.memory_bytes == 64 << 20);
    REQUIRE(p.v1_limits.write_bps.size() == 1);
    CHECK(p.v1_limits.write_bps[0].rate == 1 << 20);
    CHECK(p.v2_limits.memory_bytes == 0);
    CHECK(p.unenforced.empty());
  }

  TEST_CASE("only the limits that are set get a cgroup") {
    Layout l = ParseLayout(kHybridMountinfo, kHybridCgroup).value();
    ExecutionLimits lim = NoLimits();
    lim.max_processes = 4;
    Plan p = MakePlan(l, L(lim), {});
    CHECK(p.v1_controllers == std::set<std::string>{"pids"});
  }

  TEST_CASE("legacy: freezer for the kill, cpuacct for CPU accounting") {
    Layout l = ParseLayout(kLegacyMountinfo, kLegacyCgroup).value();
    ExecutionLimits lim = NoLimits();
    lim.cpu_seconds = 1;
    Plan p = MakePlan(l, L(lim), {});
    CHECK_FALSE(p.v2_dir);
    CHECK(p.v1_controllers == std::set<std::string>{"cpuacct", "freezer"});
  }

  TEST_CASE("unified: controllers enabled from what the parent offers") {
    Layout l = ParseLayout(kUnifiedMountinfo, kUnifiedCgroup).value();
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 100;
    lim.max_processes = 10;
    lim.io_read_bps = 100;
    Plan p = MakePlan(l, L(lim, {"8:0"}), {"cpu", "io", "memory", "pids"});
    CHECK(p.v2_dir);
    CHECK(p.v2_controllers == std::set<std::string>{"io", "memory", "pids"});
    CHECK(p.v2_limits.memory_bytes == 100 << 20);
    CHECK(p.v1_controllers.empty());
    CHECK(p.unenforced.empty());
  }

  TEST_CASE("a controller the host lacks is named, with the file that says so") {
    Layout l = ParseLayout(kUnifiedMountinfo, kUnifiedCgroup).value();
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 100;
    lim.max_processes = 10;
    Plan p = MakePlan(l, L(lim), {"pids"});
    REQUIRE(p.unenforced.size() == 1);
    const std::string text = p.unenforced[0].Text();
    CHECK(text.find("linux.resources.memory.limit=104857600 not enforced") == 0);
    CHECK(text.find("session-2.scope/cgroup.controllers") != std::string::npos);
  }

  TEST_CASE("no cgroup filesystem: every set limit is unenforced") {
    Layout l;
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 1;
    lim.max_processes = 1;
    lim.cpus = 1;
    Plan p = MakePlan(l, L(lim), {});
    CHECK(p.unenforced.size() == 3);
    CHECK(p.unenforced[0].why.message() == "no cgroup filesystem is mounted");
  }
}

TEST_SUITE("parsers") {
  TEST_CASE("numbers and max") {
    CHECK(ParseU64("123\n", "f").value() == 123);
    CHECK(ParseU64("max\n", "f").value() == UINT64_MAX);
    Result<uint64_t> bad = ParseU64("12a", "memory.peak");
    CHECK_FALSE(bad.ok());
    CHECK(bad.status().message() == "`memory.peak`: expected a number, got `12a`");
  }

  TEST_CASE("keyed files") {
    auto m = ParseKeyed("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
    CHECK(m["oom_kill"] == 3);
    CHECK(m.count("under_oom") == 1);
  }

  TEST_CASE("io.stat sums devices") {
    IoBytes b = ParseIoStat(
        "254:0 rbytes=4096 wbytes=1048576 rios=1 wios=1 dbytes=0 dios=0\n"
        "8:0 rbytes=1 wbytes=2 rios=1 wios=1 dbytes=0 dios=0\n");
    CHECK(b.read == 4097);
    CHECK(b.write == 1048578);
  }

  TEST_CASE("blkio service bytes skip the totals") {
    IoBytes b = ParseBlkioServiceBytes(
        "254:0 Read 217088\n254:0 Write 10485760\n254:0 Sync 10702848\n254:0 Async 0\n"
        "254:0 Discard 0\n254:0 Total 10702848\nTotal 10702848\n");
    CHECK(b.read == 217088);
    CHECK(b.write == 10485760);
  }
}

TEST_SUITE("v2 backend") {
  // The files the kernel makes in a new v2 cgroup with memory, pids, cpu and io enabled.
  void MakeV2Fixture(const TempDir& t) {
    for (const char* f : {"memory.max", "memory.swap.max", "pids.max", "cpu.max", "cpu.weight",
                          "io.max", "cgroup.kill", "cgroup.procs"}) {
      t.Put(f);
    }
    t.Put("cgroup.events", "populated 0\nfrozen 0\n");
    t.Put("cpu.stat", "usage_usec 1500000\nuser_usec 1200000\nsystem_usec 300000\nnr_periods 0\n");
    t.Put("memory.peak", "67108864\n");
    t.Put("memory.events", "low 0\nhigh 0\nmax 120\noom 2\noom_kill 1\noom_group_kill 0\n");
    t.Put("pids.peak", "8\n");
    t.Put("pids.events", "max 5\n");
    t.Put("io.stat", "254:0 rbytes=4096 wbytes=12582912 rios=1 wios=12 dbytes=0 dios=0\n");
  }

  TEST_CASE("limits are written to the v2 files") {
    TempDir t;
    MakeV2Fixture(t);
    V2Manager m(AdoptOrFail(t.path()));
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 64;
    lim.max_processes = 8;
    lim.cpus = 1.5;
    lim.io_read_bps = 1000;
    lim.io_write_bps = 2000;
    std::vector<Unenforced> failed = m.ApplyLimits(L(lim, {"254:0"}));
    CHECK(failed.empty());
    CHECK(t.Get("memory.max") == "67108864");
    CHECK(t.Get("memory.swap.max") == "0");
    CHECK(t.Get("pids.max") == "8");
    CHECK(t.Get("cpu.max") == "150000 100000");
    CHECK(t.Get("io.max") == "254:0 rbps=1000 wbps=2000");
    CHECK(m.CloneIntoFd() >= 0);
  }

  TEST_CASE("cpu.shares becomes cpu.weight by the runtime-spec conversion") {
    CHECK(CpuWeight(2) == 1);
    CHECK(CpuWeight(1024) == 39);
    CHECK(CpuWeight(262144) == 10000);
    TempDir t;
    MakeV2Fixture(t);
    V2Manager m(AdoptOrFail(t.path()));
    Limits l;
    l.cpu_shares = 2;  // what CRI sends for a pod sandbox
    CHECK(m.ApplyLimits(l).empty());
    CHECK(t.Get("cpu.weight") == "1");
    CHECK(t.Get("cpu.max").empty());
  }

  TEST_CASE("limits that are not set are not written") {
    TempDir t;
    MakeV2Fixture(t);
    V2Manager m(AdoptOrFail(t.path()));
    ExecutionLimits lim = NoLimits();
    lim.io_write_bps = 5;
    CHECK(m.ApplyLimits(L(lim, {"8:0"})).empty());
    CHECK(t.Get("memory.max").empty());
    CHECK(t.Get("io.max") == "8:0 wbps=5");
  }

  TEST_CASE("a missing control file is reported with its path and value") {
    TempDir t;
    t.Put("cgroup.procs");
    V2Manager m(AdoptOrFail(t.path()));
    ExecutionLimits lim = NoLimits();
    lim.max_processes = 8;
    std::vector<Unenforced> failed = m.ApplyLimits(L(lim, {}));
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].limit == "linux.resources.pids.limit=8");
    CHECK(failed[0].Text().find("`" + t.path() + "/pids.max`") != std::string::npos);
    CHECK(failed[0].Text().find("`8`") != std::string::npos);
  }

  TEST_CASE("stats come from cpu.stat, memory.peak/events, pids.peak/events, io.stat") {
    TempDir t;
    MakeV2Fixture(t);
    V2Manager m(AdoptOrFail(t.path()));
    Result<Stats> st = m.ReadStats();
    REQUIRE_MESSAGE(st.ok(), st.status().message());
    CHECK(st->cpu_user_ms == 1200);
    CHECK(st->cpu_system_ms == 300);
    CHECK(st->cpu_usage_ns == 1500000000ULL);
    CHECK(st->memory_peak_bytes == 67108864);
    CHECK(st->oom_killed);
    CHECK(st->oom_kill_count == 1);
    CHECK(st->pids_peak == 8);
    CHECK(st->pids_limit_hit);
    CHECK(st->io_read_bytes == 4096);
    CHECK(st->io_write_bytes == 12582912);
  }

  TEST_CASE("a v2 cgroup without controllers still accounts CPU; no OOM seen") {
    TempDir t;
    t.Put("cgroup.procs");
    t.Put("cpu.stat", "usage_usec 10\nuser_usec 7000\nsystem_usec 3000\n");
    V2Manager m(AdoptOrFail(t.path()));
    Result<Stats> st = m.ReadStats();
    REQUIRE(st.ok());
    CHECK(st->cpu_user_ms == 7);
    CHECK(st->memory_peak_bytes == 0);
    CHECK_FALSE(st->oom_killed);
    CHECK_FALSE(st->pids_limit_hit);
  }

  TEST_CASE("pids peak is tracked from pids.current where pids.peak is missing") {
    TempDir t;
    t.Put("cpu.stat", "usage_usec 0\n");
    t.Put("pids.current", "5\n");
    V2Manager m(AdoptOrFail(t.path()));
    CHECK(m.ReadStats()->pids_peak == 5);
    t.Put("pids.current", "2\n");
    CHECK(m.ReadStats()->pids_peak == 5);
  }

  TEST_CASE("join writes the pid, kill writes cgroup.kill, destroy waits on cgroup.events") {
    TempDir t;
    MakeV2Fixture(t);
    V2Manager m(AdoptOrFail(t.path()));
    CHECK(m.Join(4242, false).ok());
    CHECK(t.Get("cgroup.procs") == "4242");
    CHECK(m.Kill().ok());
    CHECK(t.Get("cgroup.kill") == "1");
    CHECK_FALSE(m.Populated().value());
    CHECK(m.Destroy().ok());  // adopted: nothing removed
    CHECK(fs::exists(t.path()));
  }

  TEST_CASE("enabling controllers writes +name to the parent's subtree_control") {
    TempDir t;
    t.Put("cgroup.subtree_control", "cpu\n");
    std::map<std::string, Status> failed = EnableControllers(t.path(), {"cpu", "pids"});
    CHECK(failed.empty());
    CHECK(t.Get("cgroup.subtree_control") == "+pids");  // cpu was already on
    TempDir missing;
    failed = EnableControllers(missing.path(), {"memory"});
    REQUIRE(failed.count("memory") == 1);
    CHECK(failed["memory"].message().find("cgroup.subtree_control") != std::string::npos);
  }
}

TEST_SUITE("v1 backend") {
  // One directory per hierarchy, as the kernel fills them.
  std::vector<V1Manager::Group> MakeV1Fixture(const TempDir& t) {
    for (const char* f : {"memory/memory.limit_in_bytes", "memory/memory.memsw.limit_in_bytes",
                          "memory/memory.swappiness", "pids/pids.max", "cpu/cpu.cfs_period_us",
                          "cpu/cpu.cfs_quota_us", "cpu/cpu.shares", "blkio/blkio.throttle.read_bps_device",
                          "blkio/blkio.throttle.write_bps_device"}) {
      t.Put(f);
    }
    for (const char* d : {"memory", "pids", "cpu", "cpuacct", "blkio", "freezer"}) {
      t.Put(std::string(d) + "/cgroup.procs");
    }
    t.Put("memory/memory.max_usage_in_bytes", "66977792\n");
    t.Put("memory/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n");
    t.Put("pids/pids.peak", "8\n");
    t.Put("pids/pids.current", "0\n");
    t.Put("pids/pids.events", "max 17\n");
    t.Put("cpuacct/cpuacct.usage_user", "2000000000\n");
    t.Put("cpuacct/cpuacct.usage_sys", "500000000\n");
    t.Put("cpuacct/cpuacct.usage", "2500000000\n");
    t.Put("blkio/blkio.throttle.io_service_bytes_recursive",
          "254:0 Read 8192\n254:0 Write 4194304\n254:0 Total 4202496\nTotal 4202496\n");
    t.Put("freezer/freezer.state", "THAWED\n");
    std::vector<V1Manager::Group> groups;
    for (const char* d : {"memory", "pids", "cpu", "cpuacct", "blkio", "freezer"}) {
      groups.push_back({{d}, AdoptOrFail(t.path() + "/" + d)});
    }
    return groups;
  }

  TEST_CASE("limits are written to the v1 files, swap closed through memsw") {
    TempDir t;
    V1Manager m(MakeV1Fixture(t));
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 64;
    lim.max_processes = 8;
    lim.cpus = 0.25;
    lim.io_read_bps = 3000;
    lim.io_write_bps = 4000;
    std::vector<Unenforced> failed = m.ApplyLimits(L(lim, {"254:0"}));
    CHECK(failed.empty());
    CHECK(t.Get("memory/memory.limit_in_bytes") == "67108864");
    CHECK(t.Get("memory/memory.memsw.limit_in_bytes") == "67108864");
    CHECK(t.Get("pids/pids.max") == "8");
    CHECK(t.Get("cpu/cpu.cfs_period_us") == "100000");
    CHECK(t.Get("cpu/cpu.cfs_quota_us") == "25000");
    CHECK(t.Get("blkio/blkio.throttle.read_bps_device") == "254:0 3000");
    CHECK(t.Get("blkio/blkio.throttle.write_bps_device") == "254:0 4000");
    CHECK(m.CloneIntoFd() == -1);
  }

  TEST_CASE("cpu.shares is written as it is") {
    TempDir t;
    V1Manager m(MakeV1Fixture(t));
    Limits l;
    l.cpu_shares = 512;
    CHECK(m.ApplyLimits(l).empty());
    CHECK(t.Get("cpu/cpu.shares") == "512");
    CHECK(t.Get("cpu/cpu.cfs_quota_us").empty());
  }

  TEST_CASE("a tiny CPU share is raised to the kernel's 1 ms minimum quota") {
    TempDir t;
    V1Manager m(MakeV1Fixture(t));
    ExecutionLimits lim = NoLimits();
    lim.cpus = 0.001;
    CHECK(m.ApplyLimits(L(lim, {})).empty());
    CHECK(t.Get("cpu/cpu.cfs_quota_us") == "1000");
  }

  TEST_CASE("a limit whose hierarchy has no directory is named") {
    TempDir t;
    t.Put("pids/cgroup.procs");
    t.Put("pids/pids.max");
    std::vector<V1Manager::Group> groups;
    groups.push_back({{"pids"}, AdoptOrFail(t.path() + "/pids")});
    V1Manager m(std::move(groups));
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 10;
    lim.max_processes = 3;
    std::vector<Unenforced> failed = m.ApplyLimits(L(lim, {}));
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].Text() == "linux.resources.memory.limit=10485760 not enforced: no `memory` cgroup for this run");
    CHECK(t.Get("pids/pids.max") == "3");
  }

  TEST_CASE("stats come from max_usage_in_bytes, oom_control, pids, cpuacct, blkio") {
    TempDir t;
    V1Manager m(MakeV1Fixture(t));
    Result<Stats> st = m.ReadStats();
    REQUIRE_MESSAGE(st.ok(), st.status().message());
    CHECK(st->memory_peak_bytes == 66977792);
    CHECK(st->oom_killed);
    CHECK(st->oom_kill_count == 1);
    CHECK(st->pids_peak == 8);
    CHECK(st->pids_limit_hit);
    CHECK(st->cpu_user_ms == 2000);
    CHECK(st->cpu_system_ms == 500);
    CHECK(st->cpu_usage_ns == 2500000000ULL);
    CHECK(st->io_read_bytes == 8192);
    CHECK(st->io_write_bytes == 4194304);
  }

  TEST_CASE("cpuacct.stat ticks are used where usage_user is missing") {
    TempDir t;
    t.Put("cpuacct/cgroup.procs");
    t.Put("cpuacct/cpuacct.stat", "user 150\nsystem 50\n");
    t.Put("cpuacct/cpuacct.usage", "2000000000\n");
    std::vector<V1Manager::Group> groups;
    groups.push_back({{"cpuacct"}, AdoptOrFail(t.path() + "/cpuacct")});
    V1Manager m(std::move(groups));
    Result<Stats> st = m.ReadStats();
    REQUIRE(st.ok());
    const uint64_t hz = static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
    CHECK(st->cpu_user_ms == 150 * 1000 / hz);
    CHECK(st->cpu_system_ms == 50 * 1000 / hz);
  }

  TEST_CASE("join writes every hierarchy; kill freezes, then thaws") {
    TempDir t;
    V1Manager m(MakeV1Fixture(t));
    CHECK(m.Join(777, false).ok());
    for (const char* d : {"memory", "pids", "cpu", "cpuacct", "blkio", "freezer"}) {
      CHECK(t.Get(std::string(d) + "/cgroup.procs") == "777");
    }
    t.Put("freezer/cgroup.procs");  // no real process to kill in a fixture
    Status s = m.Kill();
    CHECK_MESSAGE(s.ok(), s.message());
    CHECK(t.Get("freezer/freezer.state") == "THAWED");
  }
}

TEST_SUITE("cgroup dir") {
  TEST_CASE("a directory that is not a cgroup is refused and cleaned up, parents too") {
    TempDir t;
    Result<CgroupDir> d = CgroupDir::Create(t.path(), "a/b/hive-run-x");
    CHECK_FALSE(d.ok());
    CHECK(fs::is_empty(t.path()));
  }

  TEST_CASE("an existing leaf is another run's: refused, left alone") {
    TempDir t;
    t.Put("hive-run-x/cgroup.procs");
    Result<CgroupDir> d = CgroupDir::Create(t.path(), "hive-run-x");
    REQUIRE_FALSE(d.ok());
    CHECK(d.status().code() == Code::kInvalidArgument);
    CHECK(d.status().message().find("already exists") != std::string::npos);
    CHECK(fs::exists(t.path() + "/hive-run-x/cgroup.procs"));
  }

  TEST_CASE("paths with . or .. are refused") {
    TempDir t;
    CHECK_FALSE(CgroupDir::Create(t.path(), "a/../../etc").ok());
    CHECK_FALSE(CgroupDir::Create(t.path(), "").ok());
  }
}

TEST_SUITE("outcome and alerts") {
  TEST_CASE("the OOM counter names memory_limit; a bare SIGKILL does not") {
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 64;
    Stats st;
    CHECK_FALSE(ClassifyLimit(st, lim, -1, SIGKILL).has_value());
    st.oom_killed = true;
    st.oom_kill_count = 1;
    auto hit = ClassifyLimit(st, lim, -1, SIGKILL);
    REQUIRE(hit.has_value());
    CHECK(hit->outcome == Outcome::kMemoryLimit);
    CHECK(hit->killed_by == "memory_limit");
    // A run that still exited 0 was not ended by the limit.
    CHECK_FALSE(ClassifyLimit(st, lim, 0, 0).has_value());
  }

  TEST_CASE("SIGXCPU and SIGKILL past cpu_seconds name cpu_limit; SIGXFSZ file_size_limit") {
    ExecutionLimits lim = NoLimits();
    lim.cpu_seconds = 1;
    Stats st;
    CHECK(ClassifyLimit(st, lim, -1, SIGXCPU)->outcome == Outcome::kCpuLimit);
    CHECK_FALSE(ClassifyLimit(st, lim, -1, SIGKILL).has_value());
    st.cpu_usage_ns = 1000000000ULL;
    CHECK(ClassifyLimit(st, lim, -1, SIGKILL)->outcome == Outcome::kCpuLimit);
    CHECK(ClassifyLimit(Stats{}, lim, -1, SIGXFSZ)->killed_by == "file_size_limit");
  }

  TEST_CASE("an OOM kill is memory_limit even when the CPU budget is also spent") {
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 64;
    lim.cpu_seconds = 1;
    Stats st;
    st.oom_killed = true;
    st.oom_kill_count = 1;
    st.cpu_usage_ns = 2000000000ULL;
    CHECK(ClassifyLimit(st, lim, -1, SIGKILL)->outcome == Outcome::kMemoryLimit);
  }

  TEST_CASE("a refused fork names pids_limit when the run failed") {
    ExecutionLimits lim = NoLimits();
    lim.max_processes = 5;
    Stats st;
    st.pids_limit_hit = true;
    st.pids_peak = 5;
    auto hit = ClassifyLimit(st, lim, 1, 0);
    REQUIRE(hit.has_value());
    CHECK(hit->outcome == Outcome::kPidsLimit);
    CHECK(hit->detail == "fork refused at max_processes=5 (peak 5)");
    CHECK_FALSE(ClassifyLimit(st, lim, 0, 0).has_value());
  }

  TEST_CASE("alerts at the thresholds") {
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 100;
    lim.cpus = 1;
    AlertThresholds th;  // cpu 80 %, memory 90 %, 250 s
    Usage u;
    u.cpu_user_ms = 1900;
    u.memory_peak_bytes = 95ULL * 1024 * 1024;
    std::vector<Alert> a = AlertsFor(u, lim, th, 2000);
    REQUIRE(a.size() == 2);
    CHECK(a[0].type == "cpu_usage");
    CHECK(a[0].value == doctest::Approx(95.0));
    CHECK(a[1].type == "memory_usage");
    CHECK(a[1].value == doctest::Approx(95.0));
    CHECK(AlertsFor(u, lim, th, 300000).back().type == "execution_time");
    u.cpu_user_ms = 100;
    u.memory_peak_bytes = 1;
    CHECK(AlertsFor(u, lim, th, 2000).empty());
    // Short runs at full speed are start-up, not an alert.
    u.cpu_user_ms = 50;
    CHECK(AlertsFor(u, lim, th, 50).empty());
  }

  TEST_CASE("no CPU alert without a CPU limit: a build may use every CPU") {
    ExecutionLimits lim = NoLimits();
    AlertThresholds th;
    Usage u;
    u.cpu_user_ms = 7900;  // four CPUs, nearly all the time
    CHECK(AlertsFor(u, lim, th, 2000).empty());
    lim.cpus = 2;
    REQUIRE(AlertsFor(u, lim, th, 2000).size() == 1);
    CHECK(AlertsFor(u, lim, th, 2000)[0].type == "cpu_usage");
  }
}

// ---------------------------------------------------------------------------------------------
// Live: real cgroups on this host, real workloads. Each test creates its cgroups below the
// cgroup this test runs in, bounds every workload in time and checks that nothing is left.

namespace {

bool CanRunLive() {
  if (::geteuid() != 0) return false;
  Result<Layout> l = DetectLayout();
  return l.ok() && l->kind != LayoutKind::kNone;
}
const bool kSkipLive = !CanRunLive();

std::string NewRunId(const char* what) {
  static int n = 0;
  return fmt::format("t{}-{}-{}", ::getpid(), what, ++n);
}

// Cgroup directories on the host whose name carries `run_id`.
std::vector<std::string> CgroupsNamed(const std::string& run_id) {
  std::vector<std::string> found;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(
           "/sys/fs/cgroup", fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    if (it->is_directory(ec) && it->path().filename().string().find(run_id) != std::string::npos)
      found.push_back(it->path().string());
  }
  return found;
}

// Starts `/bin/sh -c script` the way the supervisor does: clone3 into the v2 directory where
// there is one, Join() for the rest, then the go-ahead.
pid_t Spawn(CgroupManager& m, const std::string& script) {
  int go[2];
  REQUIRE(::pipe2(go, O_CLOEXEC) == 0);
  clone_args args{};
  args.exit_signal = SIGCHLD;
  if (m.CloneIntoFd() >= 0) {
    args.flags = CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(m.CloneIntoFd());
  }
  const long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) {
    char c;
    if (::read(go[0], &c, 1) != 1) ::_exit(120);
    ::execl("/bin/sh", "sh", "-c", script.c_str(), nullptr);
    ::_exit(127);
  }
  REQUIRE_MESSAGE(pid > 0, "clone3: ", std::strerror(errno));
  ::close(go[0]);
  Status joined = m.Join(static_cast<pid_t>(pid), (args.flags & CLONE_INTO_CGROUP) != 0);
  CHECK_MESSAGE(joined.ok(), joined.message());
  CHECK(::write(go[1], "g", 1) == 1);
  ::close(go[1]);
  return static_cast<pid_t>(pid);
}

// Waits up to `seconds` for `pid`; on time-out kills it. Returns the wait status.
int WaitFor(pid_t pid, double seconds, bool* timed_out = nullptr) {
  const int pfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  REQUIRE(pfd >= 0);
  pollfd p{pfd, POLLIN, 0};
  const int r = ::poll(&p, 1, static_cast<int>(seconds * 1000));
  ::close(pfd);
  if (timed_out) *timed_out = r == 0;
  if (r == 0) ::kill(pid, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  return status;
}

// Orphans of the sandbox are re-parented to this process (a subreaper): reap them.
void ReapOrphans() {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

std::string ReadFileOrEmpty(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Every process in any of the run's cgroups.
std::vector<pid_t> ListProcs(const std::string& run_id) {
  std::set<pid_t> pids;
  for (const auto& d : CgroupsNamed(run_id)) {
    std::istringstream in(ReadFileOrEmpty(d + "/cgroup.procs"));
    for (pid_t p; in >> p;) pids.insert(p);
  }
  return {pids.begin(), pids.end()};
}

bool Alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno != ESRCH; }

std::unique_ptr<CgroupManager> MakeOrFail(const std::string& id, const ExecutionLimits& lim,
                                          const std::vector<std::string>& io_paths = {"/"}) {
  auto m = CreateForRun(id, L(lim, DevicesOf(io_paths)));
  REQUIRE_MESSAGE(m.ok(), m.status().message());
  for (const auto& w : m.value()->Warnings()) MESSAGE("warning: ", w);
  return std::move(m).value();
}

void DestroyAndCheckGone(CgroupManager& m, const std::string& id) {
  Status s = m.Destroy();
  CHECK_MESSAGE(s.ok(), s.message());
  CHECK(CgroupsNamed(id).empty());
}

struct Subreaper {
  Subreaper() { ::prctl(PR_SET_CHILD_SUBREAPER, 1); }
  ~Subreaper() {
    ReapOrphans();
    ::prctl(PR_SET_CHILD_SUBREAPER, 0);
  }
};

}  // namespace

TEST_SUITE("live" * doctest::skip(kSkipLive)) {
  TEST_CASE("the child lands in the run's cgroup in every hierarchy before it runs") {
    const std::string id = NewRunId("place");
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 64;
    lim.max_processes = 16;
    auto m = MakeOrFail(id, lim);
    CHECK(m->Warnings().empty());
    const pid_t pid = Spawn(*m, "exec sleep 10");
    const std::string cg = ReadFileOrEmpty("/proc/" + std::to_string(pid) + "/cgroup");
    Layout layout = DetectLayout().value();
    for (const char* c : {"memory", "pids"}) {
      if (layout.ForController(c) == nullptr) continue;
      CHECK_MESSAGE(cg.find(std::string(c) + ":") != std::string::npos, cg);
      const size_t at = cg.find(std::string(c) + ":");
      CHECK(cg.substr(at, cg.find('\n', at) - at).find("hive-run-" + id) != std::string::npos);
    }
    if (layout.Unified() != nullptr) {
      CHECK(m->CloneIntoFd() >= 0);
      CHECK(cg.find("0::") != std::string::npos);
      CHECK(cg.substr(cg.find("0::")).find("hive-run-" + id) != std::string::npos);
    }
    CHECK(!CgroupsNamed(id).empty());
    CHECK(m->Kill().ok());
    const int status = WaitFor(pid, 5);
    CHECK(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    DestroyAndCheckGone(*m, id);
  }

  TEST_CASE("a memory hog is OOM-killed at memory_mb and the counters say so") {
    const std::string id = NewRunId("oom");
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 64;
    auto m = MakeOrFail(id, lim);
    // tail keeps the whole "line" of an endless stream without newlines in memory.
    const pid_t pid = Spawn(*m, "exec tail /dev/zero");
    bool timed_out = false;
    const int status = WaitFor(pid, 30, &timed_out);
    CHECK_FALSE(timed_out);
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    Result<Stats> st = m->ReadStats();
    REQUIRE_MESSAGE(st.ok(), st.status().message());
    CHECK(st->oom_killed);
    CHECK(st->oom_kill_count >= 1);
    const double limit = 64.0 * 1024 * 1024;
    const double peak = static_cast<double>(st->memory_peak_bytes);
    MESSAGE("memory_mb=64: peak ", st->memory_peak_bytes, " bytes (", peak / limit * 100,
            "% of the limit), oom_kill ", st->oom_kill_count);
    CHECK(peak >= 0.75 * limit);
    CHECK(peak <= 1.25 * limit);
    auto hit = ClassifyLimit(*st, lim, -1, WTERMSIG(status));
    REQUIRE(hit.has_value());
    CHECK(hit->outcome == Outcome::kMemoryLimit);
    DestroyAndCheckGone(*m, id);
  }

  TEST_CASE("a fork bomb is held at max_processes, the limit hit is counted, Kill ends it") {
    Subreaper reaper;
    const std::string id = NewRunId("bomb");
    ExecutionLimits lim = NoLimits();
    lim.max_processes = 8;
    auto m = MakeOrFail(id, lim);
    // The bomb forks from a subshell: a fork the limit refuses makes dash exit, and the process
  // waited for below must be the sleep, which only Kill ends.
  const pid_t pid =
      Spawn(*m, "exec 2>/dev/null; (bomb() { bomb | bomb & }; bomb) & exec sleep 30");
    std::this_thread::sleep_for(std::chrono::seconds(2));
    Result<Stats> st = m->ReadStats();
    REQUIRE_MESSAGE(st.ok(), st.status().message());
    MESSAGE("max_processes=8: pids_peak ", st->pids_peak, ", limit hit ", st->pids_limit_hit);
    CHECK(st->pids_peak == 8);
    CHECK(st->pids_limit_hit);
    auto hit = ClassifyLimit(*st, lim, 2, 0);
    REQUIRE(hit.has_value());
    CHECK(hit->outcome == Outcome::kPidsLimit);
    const auto t0 = std::chrono::steady_clock::now();
    CHECK(m->Kill().ok());
    const int status = WaitFor(pid, 5);
    CHECK(WIFSIGNALED(status));
    DestroyAndCheckGone(*m, id);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
  }

  // Both kill paths: cgroup.kill in the v2 directory where there is one, and the v1 freezer
  // (this host without its v2 mount) — the only one a pure v1 host has.
  TEST_CASE("Kill reaches a setsid'ed, double-forked spinner") {
    Layout host = DetectLayout().value();
    Layout v1_only = host;
    v1_only.hierarchies.clear();
    for (const auto& h : host.hierarchies) {
      if (!h.unified) v1_only.hierarchies.push_back(h);
    }
    const bool v1_only_possible = host.ForController("freezer") != nullptr;
    for (const Layout* layout : {&host, &v1_only}) {
      if (layout == &v1_only && !v1_only_possible) continue;
      CAPTURE(layout->hierarchies.size());
      Subreaper reaper;
      const std::string id = NewRunId("kill");
      ExecutionLimits lim = NoLimits();
      lim.max_processes = 16;
      auto made = CreateWithLayout(*layout, id, L(lim), "");
      REQUIRE_MESSAGE(made.ok(), made.status().message());
      CgroupManager& m = **made;
      CHECK((layout == &host) == (m.CloneIntoFd() >= 0 || host.Unified() == nullptr));
      const pid_t pid =
          Spawn(m, "(setsid sh -c 'while :; do :; done' > /dev/null 2>&1 &); exec sleep 30");
      // The subshell forks the spinner and exits; wait until the spinner leads its session.
      pid_t spinner = -1;
      for (int i = 0; i < 200 && spinner < 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        for (pid_t p : ListProcs(id)) {
          if (p != pid && ::getsid(p) == p) spinner = p;
        }
      }
      REQUIRE(spinner > 0);
      const auto t0 = std::chrono::steady_clock::now();
      Status s = m.Kill();
      CHECK_MESSAGE(s.ok(), s.message());
      const int status = WaitFor(pid, 5);
      CHECK(WIFSIGNALED(status));
      DestroyAndCheckGone(m, id);
      CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(1));
      ReapOrphans();  // the spinner was re-parented to this test (a subreaper)
      CHECK_FALSE(Alive(spinner));
    }
  }

  TEST_CASE("Destroy kills what is still running and removes every directory") {
    Subreaper reaper;
    const std::string id = NewRunId("destroy");
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 32;
    lim.max_processes = 4;
    lim.cpus = 1;
    auto m = MakeOrFail(id, lim);
    const pid_t pid = Spawn(*m, "sleep 30 & exec sleep 30");
    CHECK(!CgroupsNamed(id).empty());
    DestroyAndCheckGone(*m, id);
    CHECK(WIFSIGNALED(WaitFor(pid, 5)));
    CHECK(m->Destroy().ok());  // a second time does nothing
  }

  TEST_CASE("cpus=0.5 holds a spinner at half a CPU; CPU time is measured by the cgroup") {
    const std::string id = NewRunId("cpu");
    ExecutionLimits lim = NoLimits();
    lim.cpus = 0.5;
    lim.cpu_seconds = 10;
    auto m = MakeOrFail(id, lim);
    const pid_t pid = Spawn(*m, "exec timeout 2 sh -c 'while :; do :; done'");
    WaitFor(pid, 10);
    Result<Stats> st = m->ReadStats();
    REQUIRE_MESSAGE(st.ok(), st.status().message());
    const double cpu_s = static_cast<double>(st->cpu_usage_ns) / 1e9;
    MESSAGE("cpus=0.5 over 2 s: ", cpu_s, " s CPU (user ", st->cpu_user_ms, " ms, system ",
            st->cpu_system_ms, " ms)");
    CHECK(cpu_s == doctest::Approx(1.0).epsilon(0.2));
    CHECK(static_cast<double>(st->cpu_user_ms + st->cpu_system_ms) ==
          doctest::Approx(cpu_s * 1000).epsilon(0.05));
    DestroyAndCheckGone(*m, id);
  }

  TEST_CASE("write_bps throttles a direct-IO writer to the limit") {
    const std::string dir = fs::temp_directory_path() == "/tmp" ? "/var/tmp" : "/tmp";
    char tmpl[64];
    std::snprintf(tmpl, sizeof tmpl, "%s/hive-cgio-XXXXXX", dir.c_str());
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    const std::string tmp = tmpl;
    std::vector<std::string> unresolved;
    if (BlockDevicesFor({tmp}, &unresolved).empty()) {
      fs::remove_all(tmp);
      MESSAGE("skipped: `", tmp, "` is on no block device");
      return;
    }
    const std::string id = NewRunId("io");
    ExecutionLimits lim = NoLimits();
    lim.io_write_bps = 4 * 1024 * 1024;
    auto m = MakeOrFail(id, lim, {tmp});
    CHECK(m->Warnings().empty());
    const auto t0 = std::chrono::steady_clock::now();
    const pid_t pid = Spawn(
        *m, "exec dd if=/dev/zero of=" + tmp + "/f bs=256K count=48 oflag=direct 2>/dev/null");
    bool timed_out = false;
    const int status = WaitFor(pid, 30, &timed_out);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK_FALSE(timed_out);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    const double rate = 12.0 * 1024 * 1024 / secs;
    Result<Stats> st = m->ReadStats();
    REQUIRE(st.ok());
    MESSAGE("io.write_bps=4194304: 12 MiB in ", secs, " s = ", rate, " B/s (",
            rate / lim.io_write_bps * 100, "%), io_write_bytes ", st->io_write_bytes);
    CHECK(rate >= 0.8 * static_cast<double>(lim.io_write_bps));
    CHECK(rate <= 1.2 * static_cast<double>(lim.io_write_bps));
    CHECK(st->io_write_bytes >= 12u * 1024 * 1024);
    DestroyAndCheckGone(*m, id);
    fs::remove_all(tmp);
  }

  TEST_CASE("a relative cgroups_path nests below hive-run's cgroup and is removed whole") {
    const std::string id = NewRunId("nest");
    ExecutionLimits lim = NoLimits();
    lim.max_processes = 4;
    auto m = CreateForRun(id, L(lim), "hive-nest-" + id + "/inner");
    REQUIRE_MESSAGE(m.ok(), m.status().message());
    const pid_t pid = Spawn(**m, "exec true");
    CHECK(WIFEXITED(WaitFor(pid, 5)));
    CHECK(CgroupsNamed("hive-nest-" + id).size() >= 1);
    CHECK((*m)->Destroy().ok());
    CHECK(CgroupsNamed("hive-nest-" + id).empty());
  }

  TEST_CASE("two runs cannot share a name") {
    const std::string id = NewRunId("dup");
    ExecutionLimits lim = NoLimits();
    lim.max_processes = 4;
    auto a = MakeOrFail(id, lim);
    auto b = CreateForRun(id, L(lim));
    REQUIRE_FALSE(b.ok());
    CHECK(b.status().message().find("already exists") != std::string::npos);
    DestroyAndCheckGone(*a, id);
  }

  TEST_CASE("an unenforceable limit refuses the run, naming the limit") {
    Layout layout = DetectLayout().value();
    // This host without its memory hierarchy.
    Layout no_memory = layout;
    no_memory.hierarchies.clear();
    for (const auto& h : layout.hierarchies) {
      if (!h.Has("memory")) no_memory.hierarchies.push_back(h);
    }
    const std::string id = NewRunId("req");
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 64;
    lim.max_processes = 4;
    auto refused = CreateWithLayout(no_memory, id, L(lim), "");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == Code::kFailedPrecondition);
    CHECK(refused.status().message().find("linux.resources.memory.limit=67108864 not enforced") != std::string::npos);
    // The cgroups made before the refusal (pids, v2) are gone with it.
    CHECK(CgroupsNamed(id).empty());
  }

  TEST_CASE("a sweep never removes a cgroup another run is creating") {
    // The sweeper takes the parent exclusively; CgroupDir::Create holds it shared from mkdir
    // to flock. Many creators race many sweepers here: every creation must succeed and keep
    // its cgroup until it destroys it.
    Layout layout = DetectLayout().value();
    ExecutionLimits lim = NoLimits();
    lim.max_processes = 4;
    // Where the pids limit lives: the run's cgroup must be there from creation to Destroy.
    const Hierarchy* h = layout.ForController("pids");
    if (h == nullptr || h->own_dir.empty()) h = layout.Unified();
    REQUIRE(h != nullptr);
    const std::string own = h->own_dir;
    auto exists = [&](const std::string& id) {
      return fs::is_directory(own + "/hive-run-" + id);
    };
    constexpr int kWorkers = 8, kRounds = 25;
    int out[2];
    REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
    std::vector<pid_t> pids;
    for (int w = 0; w < kWorkers; ++w) {
      const pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        int bad = 0;
        for (int r = 0; r < kRounds; ++r) {
          (void)SweepStale(layout);
          const std::string tag = fmt::format("race{}x{}", w, r);
          const std::string id = NewRunId(tag.c_str());
          auto m = CreateWithLayout(layout, id, L(lim), "");
          if (!m.ok()) std::fprintf(stderr, "create failed: %s\n", m.status().message().c_str());
          if (!m.ok() || !exists(id)) ++bad;
          (void)SweepStale(layout);
          if (m.ok() && !exists(id)) {
            std::fprintf(stderr, "swept from under its creator: %s\n", id.c_str());
            ++bad;
          }
          if (m.ok()) (void)(*m)->Destroy();
        }
        char c = static_cast<char>(bad);
        (void)!::write(out[1], &c, 1);
        ::_exit(0);
      }
      pids.push_back(pid);
    }
    ::close(out[1]);
    int bad = 0;
    char c;
    while (::read(out[0], &c, 1) == 1) bad += c;
    ::close(out[0]);
    for (pid_t pid : pids) {
      int status = 0;
      REQUIRE(::waitpid(pid, &status, 0) == pid);
      CHECK(WIFEXITED(status));
    }
    CHECK(bad == 0);
  }

  TEST_CASE("a run's cgroups released by one process are adopted and removed by another") {
    // What create/start/delete in separate processes rely on: the paths are the saved state.
    Layout layout = DetectLayout().value();
    const std::string id = NewRunId("adopt");
    ExecutionLimits lim = NoLimits();
    lim.max_processes = 4;
    auto m = MakeOrFail(id, lim);
    const std::vector<std::string> paths = m->Paths();
    REQUIRE_FALSE(paths.empty());
    m->Release();
    m.reset();  // released: dropping the manager leaves the directories
    for (const std::string& p : paths) CHECK(fs::is_directory(p));
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      auto adopted = AdoptRun(layout, paths);
      if (!adopted.ok()) ::_exit(1);
      auto st = (*adopted)->ReadStats();
      if (!st.ok() || !(*adopted)->Destroy().ok()) ::_exit(2);
      ::_exit(0);
    }
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    for (const std::string& p : paths) CHECK_FALSE(fs::exists(p));
    CHECK_FALSE(AdoptRun(layout, {"/nowhere/hive-run-x"}).ok());
  }

  TEST_CASE("SweepStale removes an abandoned empty cgroup and leaves live ones") {
    Layout layout = DetectLayout().value();
    const Hierarchy* h = layout.ForController("pids");
    if (h == nullptr) h = layout.Unified();
    REQUIRE(h != nullptr);
    const std::string stale = h->own_dir + "/hive-run-" + NewRunId("stale");
    REQUIRE(::mkdir(stale.c_str(), 0755) == 0);
    REQUIRE(::mkdir((stale + "/sub").c_str(), 0755) == 0);
    const std::string id = NewRunId("live");
    ExecutionLimits lim = NoLimits();
    lim.max_processes = 4;
    auto m = MakeOrFail(id, lim);
    Status s = SweepStale();
    CHECK_MESSAGE(s.ok(), s.message());
    CHECK_FALSE(fs::exists(stale));
    CHECK(!CgroupsNamed(id).empty());
    DestroyAndCheckGone(*m, id);
  }
}

TEST_SUITE("live" * doctest::skip(kSkipLive)) {
  // What an unprivileged caller without a delegated subtree gets: no cgroup can be made, so
  // the run is refused with every limit named.
  TEST_CASE("without delegation, a run with limits is refused") {
    {
      int out[2];
      REQUIRE(::pipe2(out, O_CLOEXEC) == 0);
      const std::string id = NewRunId("nobody");
      const pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        if (::setgroups(0, nullptr) != 0 || ::setresgid(65534, 65534, 65534) != 0 ||
            ::setresuid(65534, 65534, 65534) != 0) {
          ::_exit(100);
        }
        ExecutionLimits lim = NoLimits();
        lim.memory_mb = 64;
        lim.max_processes = 8;
        auto m = CreateForRun(id, L(lim));
        std::string text = m.ok() ? "ok\n" : "error\n" + m.status().message() + "\n";
        if (m.ok()) {
          for (const auto& w : (*m)->Warnings()) text += w + "\n";
          (void)(*m)->Destroy();
        }
        (void)!::write(out[1], text.data(), text.size());
        ::_exit(0);
      }
      ::close(out[1]);
      std::string text;
      char buf[4096];
      for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) text.append(buf, n);
      ::close(out[0]);
      int status = 0;
      REQUIRE(::waitpid(pid, &status, 0) == pid);
      REQUIRE(WIFEXITED(status));
      REQUIRE(WEXITSTATUS(status) == 0);
      CAPTURE(text);
      CHECK(text.rfind("error\n", 0) == 0);
      CHECK(text.find("linux.resources.memory.limit=67108864 not enforced") != std::string::npos);
      CHECK(text.find("linux.resources.pids.limit=8 not enforced") != std::string::npos);
      CHECK(text.find("Permission denied") != std::string::npos);
      CHECK(CgroupsNamed(id).empty());
    }
  }
}

TEST_SUITE("update") {
  // A running sandbox's v1 directories, as another process created them: memory and pids only.
  struct RunFixture {
    TempDir t;
    Layout layout;
    std::vector<std::string> dirs;
    RunFixture() {
      for (const char* f : {"memory/run/memory.limit_in_bytes",
                            "memory/run/memory.memsw.limit_in_bytes", "memory/run/cgroup.procs",
                            "pids/run/pids.max", "pids/run/cgroup.procs"}) {
        t.Put(f, "0");
      }
      layout.kind = LayoutKind::kLegacy;
      for (const char* c : {"memory", "pids"}) {
        Hierarchy h;
        h.mount_point = t.path() + "/" + c;
        h.mount_root = "/";
        h.controllers = {c};
        h.own_path = "/";
        h.own_dir = h.mount_point;
        layout.hierarchies.push_back(h);
        dirs.push_back(h.mount_point + "/run");
      }
    }
  };

  TEST_CASE("update writes the limits it is given into the run's directories, keeping them") {
    RunFixture f;
    Limits l;
    l.memory_bytes = 33554432;
    l.pids = 5;
    REQUIRE(UpdateLimits(f.layout, f.dirs, l).ok());
    CHECK(f.t.Get("memory/run/memory.limit_in_bytes") == "33554432");
    CHECK(f.t.Get("memory/run/memory.memsw.limit_in_bytes") == "33554432");
    CHECK(f.t.Get("pids/run/pids.max") == "5");
    // Borrowed, not owned: still there.
    CHECK(fs::exists(f.dirs[0]));
    CHECK(fs::exists(f.dirs[1]));
  }

  TEST_CASE("a limit the run has no cgroup for is refused by name, and nothing is written") {
    RunFixture f;
    Limits l;
    l.pids = 7;
    l.cpu_quota_us = 50000;
    Status s = UpdateLimits(f.layout, f.dirs, l);
    REQUIRE_FALSE(s.ok());
    CHECK(s.message().find("linux.resources.cpu.quota=50000") != std::string::npos);
    CHECK(s.message().find("no `cpu` cgroup") != std::string::npos);
    CHECK(f.t.Get("pids/run/pids.max") == "0");
  }
}
