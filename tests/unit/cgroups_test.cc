// cgroups: layout detection, planning, both backends against fixture trees, parsers, outcome
// naming and alerts. No privileges needed. The "live" suite at the end runs real workloads in
// real cgroups and skips itself unless run as root on a host with cgroups.
#include "sandbox/cgroups/cgroups.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "sandbox/cgroups/backends.h"
#include "sandbox/cgroups/cgroup_dir.h"
#include "sandbox/cgroups/layout.h"

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
    MESSAGE("host cgroup layout: ", LayoutKindName(l->kind));
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
    Plan p = MakePlan(l, lim, {});
    CHECK(p.v2_dir);
    CHECK(p.v2_controllers.empty());
    CHECK(p.v1_controllers == std::set<std::string>{"blkio", "cpu", "memory", "pids"});
    CHECK(p.v1_limits.memory_mb == 64);
    CHECK(p.v1_limits.io_write_bps == 1 << 20);
    CHECK(p.v2_limits.memory_mb == 0);
    CHECK(p.unenforced.empty());
  }

  TEST_CASE("only the limits that are set get a cgroup") {
    Layout l = ParseLayout(kHybridMountinfo, kHybridCgroup).value();
    ExecutionLimits lim = NoLimits();
    lim.max_processes = 4;
    Plan p = MakePlan(l, lim, {});
    CHECK(p.v1_controllers == std::set<std::string>{"pids"});
  }

  TEST_CASE("legacy: freezer for the kill, cpuacct for CPU accounting") {
    Layout l = ParseLayout(kLegacyMountinfo, kLegacyCgroup).value();
    ExecutionLimits lim = NoLimits();
    lim.cpu_seconds = 1;
    Plan p = MakePlan(l, lim, {});
    CHECK_FALSE(p.v2_dir);
    CHECK(p.v1_controllers == std::set<std::string>{"cpuacct", "freezer"});
  }

  TEST_CASE("unified: controllers enabled from what the parent offers") {
    Layout l = ParseLayout(kUnifiedMountinfo, kUnifiedCgroup).value();
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 100;
    lim.max_processes = 10;
    lim.io_read_bps = 100;
    Plan p = MakePlan(l, lim, {"cpu", "io", "memory", "pids"});
    CHECK(p.v2_dir);
    CHECK(p.v2_controllers == std::set<std::string>{"io", "memory", "pids"});
    CHECK(p.v2_limits.memory_mb == 100);
    CHECK(p.v1_controllers.empty());
    CHECK(p.unenforced.empty());
  }

  TEST_CASE("a controller the host lacks is named, with the file that says so") {
    Layout l = ParseLayout(kUnifiedMountinfo, kUnifiedCgroup).value();
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 100;
    lim.max_processes = 10;
    Plan p = MakePlan(l, lim, {"pids"});
    REQUIRE(p.unenforced.size() == 1);
    const std::string text = p.unenforced[0].Text();
    CHECK(text.find("memory_mb=100 not enforced") == 0);
    CHECK(text.find("session-2.scope/cgroup.controllers") != std::string::npos);
  }

  TEST_CASE("no cgroup filesystem: every set limit is unenforced") {
    Layout l;
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 1;
    lim.max_processes = 1;
    lim.cpus = 1;
    Plan p = MakePlan(l, lim, {});
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
    for (const char* f : {"memory.max", "memory.swap.max", "pids.max", "cpu.max", "io.max",
                          "cgroup.kill", "cgroup.procs"}) {
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
    std::vector<Unenforced> failed = m.ApplyLimits(lim, {"254:0"});
    CHECK(failed.empty());
    CHECK(t.Get("memory.max") == "67108864");
    CHECK(t.Get("memory.swap.max") == "0");
    CHECK(t.Get("pids.max") == "8");
    CHECK(t.Get("cpu.max") == "150000 100000");
    CHECK(t.Get("io.max") == "254:0 rbps=1000 wbps=2000");
    CHECK(m.CloneIntoFd() >= 0);
  }

  TEST_CASE("limits that are not set are not written") {
    TempDir t;
    MakeV2Fixture(t);
    V2Manager m(AdoptOrFail(t.path()));
    ExecutionLimits lim = NoLimits();
    lim.io_write_bps = 5;
    CHECK(m.ApplyLimits(lim, {"8:0"}).empty());
    CHECK(t.Get("memory.max").empty());
    CHECK(t.Get("io.max") == "8:0 wbps=5");
  }

  TEST_CASE("a missing control file is reported with its path and value") {
    TempDir t;
    t.Put("cgroup.procs");
    V2Manager m(AdoptOrFail(t.path()));
    ExecutionLimits lim = NoLimits();
    lim.max_processes = 8;
    std::vector<Unenforced> failed = m.ApplyLimits(lim, {});
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].limit == "max_processes=8");
    CHECK(failed[0].Text().find("`" + t.path() + "/pids.max`") != std::string::npos);
    CHECK(failed[0].Text().find("`8`") != std::string::npos);
  }

  TEST_CASE("io limits without a block device are unenforced") {
    TempDir t;
    MakeV2Fixture(t);
    V2Manager m(AdoptOrFail(t.path()));
    ExecutionLimits lim = NoLimits();
    lim.io_read_bps = 1;
    CHECK(m.ApplyLimits(lim, {}).size() == 1);
  }

  TEST_CASE("stats come from cpu.stat, memory.peak/events, pids.peak/events, io.stat") {
    TempDir t;
    MakeV2Fixture(t);
    V2Manager m(AdoptOrFail(t.path()));
    Result<Stats> st = m.ReadStats();
    REQUIRE_MESSAGE(st.ok(), st.status().message());
    CHECK(st->usage.cpu_user_ms == 1200);
    CHECK(st->usage.cpu_system_ms == 300);
    CHECK(st->cpu_usage_ns == 1500000000ULL);
    CHECK(st->usage.memory_peak_bytes == 67108864);
    CHECK(st->oom_killed);
    CHECK(st->oom_kill_count == 1);
    CHECK(st->usage.pids_peak == 8);
    CHECK(st->pids_limit_hit);
    CHECK(st->usage.io_read_bytes == 4096);
    CHECK(st->usage.io_write_bytes == 12582912);
  }

  TEST_CASE("a v2 cgroup without controllers still accounts CPU; no OOM seen") {
    TempDir t;
    t.Put("cgroup.procs");
    t.Put("cpu.stat", "usage_usec 10\nuser_usec 7000\nsystem_usec 3000\n");
    V2Manager m(AdoptOrFail(t.path()));
    Result<Stats> st = m.ReadStats();
    REQUIRE(st.ok());
    CHECK(st->usage.cpu_user_ms == 7);
    CHECK(st->usage.memory_peak_bytes == 0);
    CHECK_FALSE(st->oom_killed);
    CHECK_FALSE(st->pids_limit_hit);
  }

  TEST_CASE("pids peak is tracked from pids.current where pids.peak is missing") {
    TempDir t;
    t.Put("cpu.stat", "usage_usec 0\n");
    t.Put("pids.current", "5\n");
    V2Manager m(AdoptOrFail(t.path()));
    CHECK(m.ReadStats()->usage.pids_peak == 5);
    t.Put("pids.current", "2\n");
    CHECK(m.ReadStats()->usage.pids_peak == 5);
  }

  TEST_CASE("join writes the pid, kill writes cgroup.kill, destroy waits on cgroup.events") {
    TempDir t;
    MakeV2Fixture(t);
    V2Manager m(AdoptOrFail(t.path()));
    CHECK(m.Join(4242).ok());
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
                          "cpu/cpu.cfs_quota_us", "blkio/blkio.throttle.read_bps_device",
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
    std::vector<Unenforced> failed = m.ApplyLimits(lim, {"254:0"});
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

  TEST_CASE("a tiny CPU share is raised to the kernel's 1 ms minimum quota") {
    TempDir t;
    V1Manager m(MakeV1Fixture(t));
    ExecutionLimits lim = NoLimits();
    lim.cpus = 0.001;
    CHECK(m.ApplyLimits(lim, {}).empty());
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
    std::vector<Unenforced> failed = m.ApplyLimits(lim, {});
    REQUIRE(failed.size() == 1);
    CHECK(failed[0].Text() == "memory_mb=10 not enforced: no `memory` cgroup for this run");
    CHECK(t.Get("pids/pids.max") == "3");
  }

  TEST_CASE("stats come from max_usage_in_bytes, oom_control, pids, cpuacct, blkio") {
    TempDir t;
    V1Manager m(MakeV1Fixture(t));
    Result<Stats> st = m.ReadStats();
    REQUIRE_MESSAGE(st.ok(), st.status().message());
    CHECK(st->usage.memory_peak_bytes == 66977792);
    CHECK(st->oom_killed);
    CHECK(st->oom_kill_count == 1);
    CHECK(st->usage.pids_peak == 8);
    CHECK(st->pids_limit_hit);
    CHECK(st->usage.cpu_user_ms == 2000);
    CHECK(st->usage.cpu_system_ms == 500);
    CHECK(st->cpu_usage_ns == 2500000000ULL);
    CHECK(st->usage.io_read_bytes == 8192);
    CHECK(st->usage.io_write_bytes == 4194304);
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
    CHECK(st->usage.cpu_user_ms == 150 * 1000 / hz);
    CHECK(st->usage.cpu_system_ms == 50 * 1000 / hz);
  }

  TEST_CASE("join writes every hierarchy; kill freezes, then thaws") {
    TempDir t;
    V1Manager m(MakeV1Fixture(t));
    CHECK(m.Join(777).ok());
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

  TEST_CASE("a refused fork names pids_limit when the run failed") {
    ExecutionLimits lim = NoLimits();
    lim.max_processes = 5;
    Stats st;
    st.pids_limit_hit = true;
    st.usage.pids_peak = 5;
    auto hit = ClassifyLimit(st, lim, 1, 0);
    REQUIRE(hit.has_value());
    CHECK(hit->outcome == Outcome::kPidsLimit);
    CHECK(hit->detail == "fork refused at max_processes=5 (peak 5)");
    CHECK_FALSE(ClassifyLimit(st, lim, 0, 0).has_value());
  }

  TEST_CASE("alerts at the thresholds") {
    ExecutionLimits lim = NoLimits();
    lim.memory_mb = 100;
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
}
