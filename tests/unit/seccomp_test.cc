// Seccomp profiles: loading (ours and podman's, unchanged), compiling, caching, and what a
// filtered child really gets back from the kernel, with and without the supervisor listening.
#include "sandbox/seccomp/seccomp.h"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <linux/audit.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "base/files.h"
#include "base/unique_fd.h"
#include "sandbox/seccomp/bpf.h"
#include "sandbox/seccomp/compiler.h"
#include "sandbox/seccomp/profile.h"
#include "sandbox/seccomp/syscalls.h"
#include "temp_dir.h"

namespace fs = std::filesystem;
using namespace hive::seccomp;

namespace {

const char* kPodman = "/usr/share/containers/seccomp.json";

std::string Shipped(const std::string& name) { return ProfilesDir() + "/" + name + ".yaml"; }

Profile Load(const std::string& path) {
  auto p = LoadProfile(path, ProfilesDir() + "/groups.yaml");
  REQUIRE_MESSAGE(p.ok(), p.status().message());
  return p.value();
}

Filter Build(const std::string& path, CompileOptions o) {
  Profile p = Load(path);
  auto f = Compile(&p, o);
  REQUIRE_MESSAGE(f.ok(), f.status().message());
  return f.value();
}

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/hive-seccomp-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

// Result of one syscall in the child: 0 on success, else errno.
long Try(long rc) { return rc < 0 ? errno : 0; }

// Runs `body` in a forked child that installs `f` first; the child reports one number per
// probe through a pipe. With `listen`, the parent takes the listener with pidfd_getfd and
// answers notifications until the child exits; violations go to *violations.
std::vector<long> RunFiltered(const Filter& f, const std::function<std::vector<long>()>& body,
                              bool listen = false,
                              std::vector<hive::seccomp::Denial>* violations = nullptr,
                              const std::function<void(Listener&)>& handlers = nullptr) {
  int results[2], fdpipe[2];
  REQUIRE(pipe2(results, O_CLOEXEC) == 0);
  REQUIRE(pipe2(fdpipe, O_CLOEXEC) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(results[0]);
    close(fdpipe[0]);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(90);
    int listener = -1;
    int rc = Install(f, &listener);
    if (rc < 0) _exit(91);
    if (write(fdpipe[1], &listener, sizeof listener) != sizeof listener) _exit(92);
    std::vector<long> out = body();
    for (long v : out) {
      if (write(results[1], &v, sizeof v) != sizeof v) _exit(93);
    }
    _exit(0);
  }
  close(results[1]);
  close(fdpipe[1]);
  int child_listener = -1;
  REQUIRE(read(fdpipe[0], &child_listener, sizeof child_listener) == sizeof child_listener);
  close(fdpipe[0]);
  if (listen) {
    REQUIRE(child_listener >= 0);
    hive::UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
    REQUIRE(pidfd.valid());
    int fd = static_cast<int>(syscall(SYS_pidfd_getfd, pidfd.get(), child_listener, 0));
    REQUIRE(fd >= 0);
    Listener l(fd, f);
    if (handlers) handlers(l);
    for (;;) {
      pollfd pfd[2] = {{l.fd(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}};
      REQUIRE(poll(pfd, 2, 10000) > 0);
      if (pfd[0].revents & POLLIN) REQUIRE(l.HandleOne().ok());
      if (pfd[1].revents & POLLIN) break;
    }
    if (violations) *violations = l.Denials();
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE_MESSAGE(WIFEXITED(status), "child status " << status);
  REQUIRE_MESSAGE(WEXITSTATUS(status) == 0, "child exit " << WEXITSTATUS(status));
  std::vector<long> out;
  long v;
  while (read(results[0], &v, sizeof v) == sizeof v) out.push_back(v);
  close(results[0]);
  return out;
}

// Runs `argv` in a forked child that installs `f` just before execve, as the sandbox does;
// stdout goes to /dev/null. Returns the wait status.
int RunProgramFiltered(const Filter& f, const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    int listener = -1;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || Install(f, &listener) < 0) _exit(90);
    execv(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return status;
}

uint64_t Count(const std::vector<hive::seccomp::Denial>& vs, const std::string& type,
               const std::string& detail) {
  for (const auto& v : vs) {
    if (v.type == type && v.detail == detail) return v.count;
  }
  return 0;
}

}  // namespace

TEST_CASE("shipped profiles load and compile, and know every syscall up to today's") {
  int highest = HighestKnownSyscall();
  CHECK(highest >= 469);
  for (const char* name : {"default", "strict", "permissive"}) {
    CAPTURE(name);
    Filter f = Build(Shipped(name), {});
    CHECK(f.profile_name == name);
    CHECK(f.unknown_syscalls.empty());
    CHECK(f.highest_syscall == highest);
    CHECK(f.arches == std::vector<std::string>{ArchName(NativeArch())});
    CHECK(f.program.size() == f.errno_program.size());
    CHECK(f.program.size() < 4096);
  }
}

TEST_CASE("default profile decides about every syscall this build can name") {
  Profile p = Load(Shipped("default"));
  std::set<std::string> named;
  for (const auto& r : p.syscalls) named.insert(r.names.begin(), r.names.end());
  std::vector<std::string> missing;
  for (int nr = 0; nr <= HighestKnownSyscall(); ++nr) {
    std::string name = SyscallName(NativeArch(), static_cast<uint32_t>(nr));
    if (name.rfind("syscall_", 0) == 0) continue;  // a hole in the table
    if (!named.count(name)) missing.push_back(name);
  }
  CHECK_MESSAGE(missing.empty(),
                "not named by default.yaml: " << fmt::format("{}", fmt::join(missing, " ")));
}

TEST_CASE("podman's profile loads unchanged and compiles for every ABI it lists") {
  if (!fs::exists(kPodman)) {
    MESSAGE("skipped: " << kPodman << " is not installed");
    return;
  }
  Profile p = Load(kPodman);
  CHECK(p.default_action.kind == ActionKind::kErrno);
  CHECK(p.default_action.data == ENOSYS);
  CHECK(p.syscalls.size() > 30);
  Filter f = Build(kPodman, {});
  if (NativeArch() == AUDIT_ARCH_X86_64) {
    CHECK(f.arches == std::vector<std::string>{"x86_64", "i386", "x32"});
  }
  CHECK(f.highest_syscall > 400);
  CHECK(f.highest_syscall < HighestKnownSyscall());
}

TEST_CASE("profile errors name the file, the line and the key") {
  SUBCASE("unknown action") {
    auto p = ParseProfile(
        "defaultAction: SCMP_ACT_ERRNO\nsyscalls:\n  - names: [read]\n    action: SCMP_ACT_NOPE\n",
        "t.yaml", {});
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().message() == "t.yaml:4: syscalls[0].action: unknown action \"SCMP_ACT_NOPE\"");
  }
  SUBCASE("unknown group") {
    auto p = ParseProfile(
        "defaultAction: SCMP_ACT_ALLOW\nsyscalls:\n  - names: [\"@nope\"]\n    action: "
        "SCMP_ACT_ERRNO\n",
        "t.yaml", {});
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().message().find("unknown syscall group \"@nope\"") != std::string::npos);
  }
  SUBCASE("a group that includes itself") {
    auto p = ParseProfile(
        "defaultAction: SCMP_ACT_ALLOW\ngroups: {a: [\"@b\"], b: [\"@a\"]}\n"
        "syscalls: [{names: [\"@a\"], action: SCMP_ACT_ERRNO}]\n",
        "t.yaml", {});
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().message().find("includes itself") != std::string::npos);
  }
  SUBCASE("override that allows") {
    auto p = ParseProfile(
        "defaultAction: SCMP_ACT_ERRNO\nsyscalls:\n  - names: [read]\n"
        "    action: SCMP_ACT_ALLOW\n    override: true\n",
        "t.yaml", {});
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().message().find("syscalls[0].override") != std::string::npos);
  }
  SUBCASE("JSON with a typo in a key") {
    auto p = ParseProfile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscals": []})", "t.json", {});
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().message() == "t.json: syscals: unknown key");
  }
  SUBCASE("unknown blocked operation") {
    CompileOptions o;
    o.blocked_operations = {"explode"};
    auto f = Compile(nullptr, o);
    REQUIRE_FALSE(f.ok());
    CHECK(f.status().message().find("\"explode\"") != std::string::npos);
  }
}

// A profile whose groups name each other `width` times, `depth` levels down: a naive expansion
// visits width^(depth+1) names for a few hundred bytes of text.
std::string NestedGroups(int width, int depth) {
  std::string text = "defaultAction: SCMP_ACT_ALLOW\ngroups:\n  g0: [";
  for (int i = 0; i < width; ++i) text += fmt::format("{}s{}", i ? ", " : "", i);
  text += "]\n";
  for (int g = 1; g <= depth; ++g) {
    text += fmt::format("  g{}: [", g);
    for (int i = 0; i < width; ++i) text += fmt::format("{}\"@g{}\"", i ? ", " : "", g - 1);
    text += "]\n";
  }
  return text + fmt::format("syscalls:\n  - names: [\"@g{}\"]\n    action: SCMP_ACT_ERRNO\n", depth);
}

TEST_CASE("group expansion is bounded and refused with the group named") {
  alarm(60);  // a regression expands exponentially: fail instead of running for hours
  SUBCASE("groups that name each other many times over") {
    // 650 bytes, 8^7 names when expanded naively; dedupe alone does not stop the walk.
    const std::string text = NestedGroups(8, 6);
    CHECK(text.size() < 700);
    auto p = ParseProfile(text, "t.yaml", {});
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().message() ==
          "t.yaml:11: syscalls[0].names: syscall group \"@g5\" expands to more than 65536 names "
          "(does it name other groups many times over?)");
    // The same bound holds a thousand levels further down, at once.
    CHECK_FALSE(ParseProfile(NestedGroups(8, 11), "t.yaml", {}).ok());
  }
  SUBCASE("nesting that is merely deep") {
    std::string text = "defaultAction: SCMP_ACT_ALLOW\ngroups:\n  g0: [read]\n";
    for (int g = 1; g <= 40; ++g) text += fmt::format("  g{}: [\"@g{}\"]\n", g, g - 1);
    text += "syscalls: [{names: [\"@g40\"], action: SCMP_ACT_ERRNO}]\n";
    auto p = ParseProfile(text, "t.yaml", {});
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().message().find("is nested more than 32 groups deep") != std::string::npos);
  }
  SUBCASE("shared groups expand once, deduplicated, in first-seen order") {
    auto p = ParseProfile(
        "defaultAction: SCMP_ACT_ALLOW\ngroups: {a: [read, write], b: [\"@a\", close, \"@a\"],"
        " c: [\"@b\", \"@a\", read]}\nsyscalls: [{names: [\"@c\", \"@b\", openat, write], "
        "action: SCMP_ACT_ERRNO}, {names: [\"@a\"], action: SCMP_ACT_LOG}]\n",
        "t.yaml", {});
    REQUIRE_MESSAGE(p.ok(), p.status().message());
    CHECK(p->syscalls[0].names == std::vector<std::string>{"read", "write", "close", "openat"});
    CHECK(p->syscalls[1].names == std::vector<std::string>{"read", "write"});
  }
  alarm(0);
}

TEST_CASE("YAML aliases cannot blow a profile up") {
  // Each level names the one before it eight times: 8^6 nodes from under 500 bytes.
  std::string text = "defaultAction: SCMP_ACT_ALLOW\ncomment:\n  a0: &a0 [x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i <= 5; ++i) {
    text += fmt::format("  a{}: &a{} [", i, i);
    for (int k = 0; k < 8; ++k) text += fmt::format("{}*a{}", k ? ", " : "", i - 1);
    text += "]\n";
  }
  text += "syscalls: []\n";
  auto p = ParseProfile(text, "t.yaml", {});
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().message().find("aliases (*name) expand to too many nodes") !=
        std::string::npos);
  // An alias or two, as people write them, is fine.
  CHECK(ParseProfile("defaultAction: SCMP_ACT_ALLOW\ncomment: {a: &n [read, write]}\n"
                     "syscalls: [{names: *n, action: SCMP_ACT_ERRNO}]\n",
                     "t.yaml", {})
            .ok());
}

TEST_CASE("YAML numbers are digits: no second sign, no wrap past INT64_MIN") {
  auto value = [](const std::string& v) {
    return ParseProfile("defaultAction: SCMP_ACT_ALLOW\nsyscalls: [{names: [read], action: "
                        "SCMP_ACT_ERRNO, args: [{index: 0, value: " + v + ", op: SCMP_CMP_EQ}]}]\n",
                        "t.yaml", {});
  };
  CHECK(value("0x10")->syscalls[0].args[0].value == 16);
  CHECK(value("-1")->syscalls[0].args[0].value == UINT64_MAX);
  CHECK(value("-9223372036854775808")->syscalls[0].args[0].value == uint64_t{1} << 63);
  // strtoull read "--5" as 5 and "-9999999999999999999" as a positive number.
  for (const char* bad : {"--5", "-9999999999999999999", "0x-5", "+5"}) {
    auto p = value(bad);
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().message().find("syscalls[0].args[0].value: expected an integer") !=
          std::string::npos);
  }
}

TEST_CASE("a profile is one document with unique keys") {
  auto two = ParseProfile("defaultAction: SCMP_ACT_ALLOW\n---\ndefaultAction: SCMP_ACT_KILL\n",
                          "t.yaml", {});
  REQUIRE_FALSE(two.ok());
  CHECK(two.status().message() == "t.yaml:3: expected one YAML document, and a second one starts "
                                  "here");
  auto dup = ParseProfile("defaultAction: SCMP_ACT_ALLOW\ndefaultAction: SCMP_ACT_KILL\n",
                          "t.yaml", {});
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.status().message() == "t.yaml:2: defaultAction: duplicate key");
  auto json = ParseProfile(R"({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [],
                              "defaultAction": "SCMP_ACT_KILL"})",
                           "t.json", {});
  REQUIRE_FALSE(json.ok());
  CHECK(json.status().message() == "t.json: defaultAction: duplicate key");
}

TEST_CASE("profile and groups files are read with the bounded reader") {
  hive::testing::TempDir dir;
  const std::string fifo = dir.path() + "/p.yaml";
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  alarm(30);  // a regression would block on the FIFO
  auto p = LoadProfile(fifo, "");
  auto g = LoadProfile(Shipped("default"), fifo);
  alarm(0);
  REQUIRE_FALSE(p.ok());
  CHECK(p.status().message() == "seccomp profile `" + fifo + "` is a FIFO, not a regular file");
  REQUIRE_FALSE(g.ok());
  CHECK(g.status().message() == "seccomp groups file `" + fifo + "` is a FIFO, not a regular file");
}

TEST_CASE("resolve profile names and paths") {
  auto d = ResolveProfile("default", "");
  REQUIRE(d.ok());
  CHECK(d.value() == Shipped("default"));
  CHECK(ResolveProfile("unconfined", "").value().empty());
  CHECK_FALSE(ResolveProfile("no-such-profile", "").ok());
  CHECK_FALSE(ResolveProfile("./missing.json", "/tmp").ok());
}

TEST_CASE("Prepare caches compiled filters in-process and on disk") {
  TempDir dir;
  hive::RunSpec spec;
  spec.linux.seccomp_profile = Shipped("default");
  spec.hive.blocked_operations = {"delete", "chmod"};
  ClearProcessCache();
  auto first = Prepare(spec, dir.path);
  REQUIRE(first.ok());
  CHECK_FALSE(first->from_cache);
  auto second = Prepare(spec, dir.path);
  REQUIRE(second.ok());
  CHECK(second->from_cache);
  CHECK(second->program.size() == first->program.size());

  // A new process (here: an empty process cache) reads the file written by the first.
  ClearProcessCache();
  auto third = Prepare(spec, dir.path);
  REQUIRE(third.ok());
  CHECK(third->from_cache);
  CHECK(std::memcmp(third->program.data(), first->program.data(),
                    first->program.size() * sizeof(sock_filter)) == 0);
  CHECK(third->labels.size() == first->labels.size());

  // A corrupted cache file is ignored and rewritten.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir.path)) {
    std::ofstream(e.path(), std::ios::trunc) << "garbage";
    ++files;
  }
  CHECK(files == 1);
  ClearProcessCache();
  auto fourth = Prepare(spec, dir.path);
  REQUIRE(fourth.ok());
  CHECK_FALSE(fourth->from_cache);

  // Anything that changes the filter changes the key.
  spec.hive.blocked_operations = {"delete"};
  auto fifth = Prepare(spec, dir.path);
  REQUIRE(fifth.ok());
  CHECK_FALSE(fifth->from_cache);
}

TEST_CASE("the interpreter agrees with what the default program means") {
  Filter f = Build(Shipped("default"), {});
  auto run = [&](uint32_t arch, int nr, std::vector<uint64_t> args = {}) {
    seccomp_data d{};
    d.arch = arch;
    d.nr = nr;
    for (size_t i = 0; i < args.size(); ++i) d.args[i] = args[i];
    return bpf::Run(f.errno_program, d).action;
  };
  const uint32_t native = NativeArch();
  CHECK(run(native, SYS_getpid) == SECCOMP_RET_ALLOW);
  CHECK(run(native, SYS_ptrace) == (SECCOMP_RET_ERRNO | EPERM));
  CHECK(run(native, SYS_clone, {CLONE_NEWUSER}) == (SECCOMP_RET_ERRNO | EPERM));
  CHECK(run(native, SYS_clone, {CLONE_VM | CLONE_THREAD}) == SECCOMP_RET_ALLOW);
  CHECK(run(native, SYS_clone3) == (SECCOMP_RET_ERRNO | ENOSYS));
  CHECK(run(native, HighestKnownSyscall() + 1) == (SECCOMP_RET_ERRNO | ENOSYS));
  CHECK(run(native, SYS_ioctl, {0, 0x5412}) == (SECCOMP_RET_ERRNO | EPERM));
  CHECK(run(native, SYS_ioctl, {0, 0x100005412ULL}) == (SECCOMP_RET_ERRNO | EPERM));
  CHECK(run(native, SYS_ioctl, {0, static_cast<uint64_t>(TCGETS)}) == SECCOMP_RET_ALLOW);
  if (native == AUDIT_ARCH_X86_64) {
    CHECK(run(native, static_cast<int>(kX32SyscallBit | 39)) == (SECCOMP_RET_ERRNO | EPERM));
    CHECK(run(AUDIT_ARCH_I386, 20) == (SECCOMP_RET_ERRNO | EPERM));
  }
}

TEST_CASE("a child under the default profile gets EPERM for denials and ENOSYS for the unknown") {
  CompileOptions o;
  o.notify = false;
  Filter f = Build(Shipped("default"), o);
  std::vector<long> r = RunFiltered(f, [] {
    return std::vector<long>{
        Try(getpid()),
        Try(ptrace(PTRACE_TRACEME, 0, nullptr, nullptr)),
        Try(syscall(SYS_clone3, nullptr, 0)),
        Try(syscall(HighestKnownSyscall() + 1, 0, 0)),
        Try(unshare(CLONE_NEWUSER)),
        Try(syscall(SYS_ioctl, 0, 0x100005412ULL, "x")),
        Try(socket(AF_PACKET, SOCK_RAW, 0)),
        Try(socket(AF_INET, SOCK_RAW, 1)),
        Try(socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 0 : -1),
        Try(personality(ADDR_NO_RANDOMIZE)),
        Try(personality(0xffffffff)),
        Try(syscall(SYS_bpf, 0, nullptr, 0)),
        Try(mknod("/tmp/hive-never-created", S_IFCHR | 0600, makedev(1, 3))),
    };
  });
  REQUIRE(r.size() == 13);
  CHECK(r[0] == 0);
  CHECK(r[1] == EPERM);
  CHECK(r[2] == ENOSYS);
  CHECK(r[3] == ENOSYS);
  CHECK(r[4] == EPERM);
  CHECK(r[5] == EPERM);
  CHECK(r[6] == EPERM);
  CHECK(r[7] == EPERM);
  CHECK(r[8] == 0);
  CHECK(r[9] == EPERM);
  CHECK(r[10] == 0);
  CHECK(r[11] == EPERM);
  CHECK(r[12] == EPERM);
}

#if defined(__x86_64__)
TEST_CASE("x32 and i386 syscalls are refused under the default profile") {
  CompileOptions o;
  o.notify = false;
  Filter f = Build(Shipped("default"), o);
  std::vector<long> r = RunFiltered(f, [] {
    // Without the filter a kernel lacking CONFIG_X86_X32_ABI says ENOSYS: EPERM is ours.
    long x32 = syscall(kX32SyscallBit | SYS_getpid);
    long x32_errno = x32 < 0 ? errno : 0;
    // int $0x80 (eax = 20: i386 getpid) in a grandchild: a kernel without ia32 emulation
    // kills it with SIGSEGV before any filter runs.
    int fds[2];
    if (pipe(fds) != 0) return std::vector<long>{x32_errno, -1, -1};
    pid_t pid = fork();
    if (pid == 0) {
      long i386;
      asm volatile("int $0x80" : "=a"(i386) : "a"(20L) : "memory", "r8", "r9", "r10", "r11");
      _exit(write(fds[1], &i386, sizeof i386) == sizeof i386 ? 0 : 1);
    }
    close(fds[1]);
    long i386 = 0;
    bool got = read(fds[0], &i386, sizeof i386) == sizeof i386;
    int status = 0;
    waitpid(pid, &status, 0);
    return std::vector<long>{x32_errno, got ? 1 : 0, got ? i386 : WTERMSIG(status)};
  });
  REQUIRE(r.size() == 3);
  CHECK(r[0] == EPERM);
  if (r[1] == 1) {
    CHECK(r[2] == -EPERM);
  } else {
    MESSAGE("i386 ABI absent on this kernel (int $0x80 -> signal " << r[2] << ")");
    CHECK(r[2] == SIGSEGV);
  }
}
#endif

TEST_CASE("denials reach the listener, get the profile's errno, and are counted by name") {
  if (!NotifySupported()) {
    MESSAGE("skipped: no seccomp user notification on this kernel");
    return;
  }
  CompileOptions o;
  o.blocked_operations = {"delete", "chmod"};
  o.deny_inet_sockets = true;
  Filter f = Build(Shipped("default"), o);
  REQUIRE(f.notify);
  std::vector<hive::seccomp::Denial> v;
  std::vector<long> r = RunFiltered(
      f,
      [] {
        return std::vector<long>{
            Try(ptrace(PTRACE_TRACEME, 0, nullptr, nullptr)),
            Try(ptrace(PTRACE_TRACEME, 0, nullptr, nullptr)),
            Try(unlink("/tmp/hive-no-such-file")),
            Try(syscall(SYS_renameat2, AT_FDCWD, "/tmp/hive-no-a", AT_FDCWD, "/tmp/hive-no-b",
                        1 /* RENAME_NOREPLACE */)),
            Try(syscall(SYS_renameat2, AT_FDCWD, "/tmp/hive-no-a", AT_FDCWD, "/tmp/hive-no-b", 0)),
            Try(chmod("/tmp", 0777)),
            Try(syscall(SYS_clone3, nullptr, 0)),
            Try(socket(AF_INET, SOCK_STREAM, 0)),
            Try(socket(AF_UNIX, SOCK_STREAM, 0) >= 0 ? 0 : -1),
        };
      },
      /*listen=*/true, &v);
  REQUIRE(r.size() == 9);
  CHECK(r[0] == EPERM);
  CHECK(r[1] == EPERM);
  CHECK(r[2] == EPERM);
  CHECK(r[3] == ENOENT);  // RENAME_NOREPLACE cannot delete: the kernel saw it
  CHECK(r[4] == EPERM);
  CHECK(r[5] == EPERM);
  CHECK(r[6] == ENOSYS);
  CHECK(r[7] == EPERM);
  CHECK(r[8] == 0);
  CHECK(Count(v, "syscall", "ptrace") == 2);
  CHECK(Count(v, "blocked_operation", "unlink (delete)") == 1);
  CHECK(Count(v, "blocked_operation", "renameat2 (delete)") == 1);
  CHECK(Count(v, "blocked_operation", "chmod (chmod)") == 1);
  CHECK(Count(v, "network", "socket (network off)") == 1);
  CHECK(v.size() == 5);  // clone3's ENOSYS is not a denial
}

TEST_CASE("podman's profile behaves as written in a child") {
  if (!fs::exists(kPodman)) {
    MESSAGE("skipped: " << kPodman << " is not installed");
    return;
  }
  CompileOptions o;
  o.notify = false;
  Filter f = Build(kPodman, o);
  int beyond = f.highest_syscall + 1;
  std::vector<long> r = RunFiltered(f, [beyond] {
    return std::vector<long>{
        Try(getpid()),
        Try(syscall(SYS_bpf, 0, nullptr, 0)),           // excluded without CAP_SYS_ADMIN: EPERM
        Try(syscall(SYS_clone3, nullptr, 0)),           // allowed: the kernel says EINVAL
        Try(syscall(beyond, 0, 0, 0)),                  // newer than the profile: ENOSYS
        Try(socket(AF_NETLINK, SOCK_RAW, 9)),           // NETLINK_AUDIT: the profile's EINVAL
        Try(syscall(SYS_vmsplice, -1, nullptr, 0, 0)),  // listed as EPERM
    };
  });
  REQUIRE(r.size() == 6);
  CHECK(r[0] == 0);
  CHECK(r[1] == EPERM);
  CHECK(r[2] == EINVAL);
  CHECK(r[3] == ENOSYS);
  CHECK(r[4] == EINVAL);
  CHECK(r[5] == EPERM);
}

TEST_CASE("strict and default let Python do ordinary work") {
  if (access("/usr/bin/python3", X_OK) != 0) {
    MESSAGE("skipped: no /usr/bin/python3");
    return;
  }
  TempDir dir;
  const std::string script =
      "import json, re, math, os, threading, sys\n"
      "d = sys.argv[1]\n"
      "t = threading.Thread(target=lambda: None); t.start(); t.join()\n"
      "with open(os.path.join(d, 'out.json'), 'w') as f:\n"
      "    json.dump({'pi': math.pi, 'm': re.findall(r'\\d+', 'a1b22')}, f)\n"
      "print(open(os.path.join(d, 'out.json')).read())\n"
      "if sys.argv[2] == 'subprocess':\n"
      "    import subprocess\n"
      "    subprocess.run(['/bin/true'], check=True)\n";
  for (auto [profile, mode] : {std::pair{"strict", "plain"}, std::pair{"default", "subprocess"}}) {
    std::string name = profile;
    CAPTURE(name);
    CompileOptions o;
    o.notify = false;
    Filter f = Build(Shipped(profile), o);
    int status =
        RunProgramFiltered(f, {"/usr/bin/python3", "-c", script, dir.path, std::string(mode)});
    CHECK(status == 0);
    CHECK(fs::exists(dir.path + "/out.json"));
    fs::remove(dir.path + "/out.json");
  }
}

TEST_CASE("strict refuses new processes and sockets") {
  CompileOptions o;
  o.notify = false;
  Filter f = Build(Shipped("strict"), o);
  std::vector<long> r = RunFiltered(f, [] {
    long forked = syscall(SYS_fork);
    if (forked == 0) _exit(0);
    return std::vector<long>{forked < 0 ? errno : 0, Try(socket(AF_UNIX, SOCK_STREAM, 0))};
  });
  REQUIRE(r.size() == 2);
  CHECK(r[0] == EPERM);
  CHECK(r[1] == EPERM);
}

TEST_CASE("the listener answers by the rule's label: a value, an injected fd, or a denial") {
  if (!NotifySupported()) return;
  // A hand-made filter: getppid and getuid are notified under their own labels, getgid under
  // no label (a denial); everything else is allowed.
  using hive::seccomp::bpf::Jump;
  using hive::seccomp::bpf::Stmt;
  const uint32_t kNr = offsetof(seccomp_data, nr);
  std::vector<sock_filter> errno_prog = {
      Stmt(BPF_LD | BPF_W | BPF_ABS, kNr),
      Jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
      Stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),  // 2: "value"
      Jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_getuid, 0, 1),
      Stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),  // 4: "inject"
      Jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_getgid, 0, 1),
      Stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),  // 6: a denial
      Stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  Filter f;
  f.notify = true;
  f.errno_program = errno_prog;
  f.program = errno_prog;
  for (size_t i : {2, 4, 6}) f.program[i].k = SECCOMP_RET_USER_NOTIF;
  f.labels = {{2, "value", ""}, {4, "inject", ""}};
  f.arches = {ArchName(NativeArch())};
  std::vector<hive::seccomp::Denial> denials;
  std::vector<long> out = RunFiltered(
      f,
      [] {
        const long ppid = syscall(SYS_getppid);
        const long fd = syscall(SYS_getuid);
        char buf[8] = {};
        const long n = fd >= 0 ? read(static_cast<int>(fd), buf, 5) : -1;
        const long gid = Try(syscall(SYS_getgid));
        return std::vector<long>{ppid, n == 5 && std::string(buf) == "hello", gid};
      },
      /*listen=*/true, &denials, [](Listener& l) {
        l.Handle("value", [](const Notification&) { return Response::Value(4242); });
        l.Handle("inject", [](const Notification&) {
          int p[2];
          REQUIRE(pipe2(p, O_CLOEXEC) == 0);
          REQUIRE(write(p[1], "hello", 5) == 5);
          close(p[1]);
          Response r;
          r.kind = Response::Kind::kInjectFd;
          r.fd = p[0];
          r.value_is_fd = true;
          return r;
        });
      });
  REQUIRE(out.size() == 3);
  CHECK(out[0] == 4242);
  CHECK(out[1] == 1);
  CHECK(out[2] == EACCES);
  REQUIRE(denials.size() == 1);
  CHECK(denials[0].detail == "getgid");
}

TEST_CASE("egress: connects go to the supervisor, the ways around it are denied in the kernel") {
  CompileOptions o;
  o.egress = true;
  Filter f = Build(Shipped("default"), o);
  CHECK(f.egress);
  auto run = [&](int nr, std::vector<uint64_t> args = {}) {
    seccomp_data d{};
    d.arch = NativeArch();
    d.nr = nr;
    for (size_t i = 0; i < args.size(); ++i) d.args[i] = args[i];
    const bpf::Verdict v = bpf::Run(f.errno_program, d);
    std::string label;
    for (const RetLabel& l : f.labels) {
      if (l.index == v.index) label = l.type + "/" + l.note;
    }
    return std::make_pair(v.action, label);
  };
  const uint32_t kEperm = SECCOMP_RET_ERRNO | EPERM;
  CHECK(run(SYS_connect) == std::make_pair(kEperm, std::string("egress/connect")));
  CHECK(run(SYS_bind) == std::make_pair(kEperm, std::string("egress/bind")));
  CHECK(run(SYS_listen) == std::make_pair(kEperm, std::string("egress/listen")));
  // sendto: with a destination (either half of the pointer), to the supervisor; without, not.
  CHECK(run(SYS_sendto, {3, 0, 1, 0, 0x7fff0000ULL, 16}).second == "egress/sendto");
  CHECK(run(SYS_sendto, {3, 0, 1, 0, 0x7f0000000000ULL, 16}).second == "egress/sendto");
  CHECK(run(SYS_sendto, {3, 0, 1, 0, 0, 0}).first == SECCOMP_RET_ALLOW);
  const uint64_t kFastOpen = 0x20000000;
  CHECK(run(SYS_sendto, {3, 0, 1, kFastOpen | MSG_NOSIGNAL, 0x7fff0000ULL, 16}) ==
        std::make_pair(uint32_t{SECCOMP_RET_ERRNO | EOPNOTSUPP},
                       std::string("network/TCP Fast Open")));
  CHECK(run(SYS_sendmsg, {3, 0, kFastOpen}).first == (SECCOMP_RET_ERRNO | EOPNOTSUPP));
  CHECK(run(SYS_sendmsg, {3, 0, MSG_NOSIGNAL}).first == SECCOMP_RET_ALLOW);
  CHECK(run(SYS_io_uring_setup).second == "network/io_uring");
  CHECK(run(SYS_socket, {AF_VSOCK, SOCK_STREAM, 0}).second == "network/AF_VSOCK");
  CHECK(run(SYS_socket, {AF_INET, SOCK_RAW | SOCK_CLOEXEC, 1}).second == "network/raw socket");
  CHECK(run(SYS_socket, {AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0}).first == SECCOMP_RET_ALLOW);
  CHECK(run(SYS_socket, {AF_INET, SOCK_DGRAM, 0}).first == SECCOMP_RET_ALLOW);
}
