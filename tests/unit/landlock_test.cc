// Landlock: which rules a spec turns into, what an older kernel refuses, and what a forked
// child that applied them can no longer do.
#include "sandbox/landlock/landlock.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "runtime/report_builder.h"

namespace stdfs = std::filesystem;
using namespace hive::landlock;

namespace {

const PathRule* Find(const Prepared& p, const std::string& path) {
  for (const PathRule& r : p.rules) {
    if (r.path == path) return &r;
  }
  return nullptr;
}

hive::RunSpec Spec(std::vector<std::string> writable, std::vector<std::string> blocked = {},
                   bool network = false) {
  hive::RunSpec s;
  s.hive.writable_paths = std::move(writable);
  s.hive.blocked_operations = std::move(blocked);
  s.hive.network.enabled = network;
  return s;
}

struct TempDir {
  std::string path;
  // Under /var/tmp: the rules always make /tmp writable, so "outside" must be elsewhere.
  TempDir() {
    char tmpl[] = "/var/tmp/hive-landlock-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { stdfs::remove_all(path); }
};

long Try(long rc) { return rc < 0 ? errno : 0; }

// Applies `p` in a forked child (with no_new_privs) and returns what `body` measured.
std::vector<long> RunConfined(const Prepared& p, const std::function<std::vector<long>()>& body) {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    close(fds[0]);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(90);
    if (Apply(p) != 0) _exit(91);
    for (long v : body()) {
      if (write(fds[1], &v, sizeof v) != sizeof v) _exit(92);
    }
    _exit(0);
  }
  close(fds[1]);
  std::vector<long> out;
  long v;
  while (read(fds[0], &v, sizeof v) == sizeof v) out.push_back(v);
  close(fds[0]);
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE_MESSAGE((WIFEXITED(status) && WEXITSTATUS(status) == 0), "child status " << status);
  return out;
}

}  // namespace

TEST_CASE("rules: read everywhere, write beneath /tmp and the writable paths") {
  auto p = PrepareForAbi(Spec({"/work/out"}), 7);
  REQUIRE(p.ok());
  CHECK(p->abi == 7);
  const PathRule* root = Find(*p, "/");
  REQUIRE(root);
  CHECK(root->access == (fs::kReadFile | fs::kReadDir | fs::kExecute));
  for (const char* w : {"/tmp", "/dev/shm", "/work/out"}) {
    CAPTURE(w);
    const PathRule* r = Find(*p, w);
    REQUIRE(r);
    CHECK((r->access & fs::kWriteFile));
    CHECK((r->access & fs::kRemoveFile));
    CHECK_FALSE((r->access & fs::kMakeChar));
    CHECK_FALSE((r->access & fs::kMakeBlock));
  }
  const PathRule* null = Find(*p, "/dev/null");
  REQUIRE(null);
  CHECK((null->access & fs::kWriteFile));
  CHECK(p->handled_net == (net::kBindTcp | net::kConnectTcp));
  CHECK(p->scoped == (scope::kAbstractUnixSocket | scope::kSignal));
  CHECK(p->not_enforced.empty());
}

TEST_CASE("rules: network on leaves TCP alone; relative writable paths are refused") {
  auto p = PrepareForAbi(Spec({}, {}, /*network=*/true), 7);
  REQUIRE(p.ok());
  CHECK(p->handled_net == 0);
  auto bad = PrepareForAbi(Spec({"out"}), 7);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("`out` is not absolute") != std::string::npos);
}

TEST_CASE("rules: blocked operations take rights away beneath writable paths") {
  auto p = PrepareForAbi(Spec({"/work/out"}, {"delete", "truncate", "mknod", "chmod"}), 7);
  REQUIRE(p.ok());
  const PathRule* r = Find(*p, "/work/out");
  REQUIRE(r);
  CHECK_FALSE((r->access & fs::kRemoveFile));
  CHECK_FALSE((r->access & fs::kRemoveDir));
  CHECK_FALSE((r->access & fs::kTruncate));
  CHECK_FALSE((r->access & fs::kMakeFifo));
  CHECK((r->access & fs::kMakeReg));
  CHECK(p->blocked_operations == std::vector<std::string>{"delete", "truncate", "mknod"});
}

TEST_CASE("an older kernel is refused unless best effort, and the gap is named") {
  SUBCASE("ABI 3, network off") {
    auto p = PrepareForAbi(Spec({}), 3);
    REQUIRE_FALSE(p.ok());
    CHECK(p.status().message().find("needs Landlock ABI") != std::string::npos);
    CHECK(p.status().message().find("best_effort") != std::string::npos);
    auto spec = Spec({});
    spec.hive.landlock_best_effort = true;
    auto q = PrepareForAbi(spec, 3);
    REQUIRE(q.ok());
    CHECK(q->abi == 3);
    CHECK(q->handled_net == 0);
    CHECK(q->scoped == 0);
    CHECK(q->not_enforced.size() == 2);
    CHECK_FALSE((q->handled_fs & fs::kIoctlDev));
  }
  SUBCASE("ABI 2 cannot block truncate") {
    auto spec = Spec({}, {"truncate"}, true);
    spec.hive.landlock_best_effort = true;
    auto q = PrepareForAbi(spec, 2);
    REQUIRE(q.ok());
    CHECK(std::any_of(q->not_enforced.begin(), q->not_enforced.end(), [](const std::string& s) {
      return s.find("truncate") != std::string::npos;
    }));
    CHECK(q->blocked_operations.empty());
  }
  SUBCASE("no Landlock at all") {
    CHECK_FALSE(PrepareForAbi(Spec({}, {}, true), 0).ok());
    auto spec = Spec({}, {}, true);
    spec.hive.landlock_best_effort = true;
    auto q = PrepareForAbi(spec, 0);
    REQUIRE(q.ok());
    CHECK(q->abi == 0);
    CHECK(Apply(*q) == 0);
    CHECK(hive::LandlockEnforced(*q)["applied"] == false);
  }
}

TEST_CASE("a confined child writes only where allowed") {
  if (KernelAbi() < 1) {
    MESSAGE("skipped: Landlock is not available on this kernel");
    return;
  }
  TempDir dir;
  std::string in = dir.path + "/in", out = dir.path + "/out";
  stdfs::create_directories(in);
  stdfs::create_directories(out);
  std::ofstream(in + "/keep") << "data";
  std::ofstream(out + "/keep") << "data";
  auto spec = Spec({in}, {"delete", "truncate"});
  spec.hive.landlock_best_effort = true;  // so the test runs on older kernels too
  auto p = Prepare(spec);
  REQUIRE(p.ok());
  std::vector<long> r = RunConfined(*p, [&] {
    return std::vector<long>{
        Try(open((in + "/new").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)),
        Try(open((out + "/new").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)),
        Try(open((out + "/keep").c_str(), O_WRONLY | O_CLOEXEC)),
        Try(mkdir((out + "/d").c_str(), 0755)),
        Try(open((in + "/keep").c_str(), O_RDONLY | O_CLOEXEC)),
        Try(unlink((in + "/keep").c_str())),
        Try(open((in + "/keep").c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC)),
    };
  });
  REQUIRE(r.size() == 7);
  CHECK(r[0] == 0);
  CHECK(r[1] == EACCES);
  CHECK(r[2] == EACCES);
  CHECK(r[3] == EACCES);
  CHECK(r[4] == 0);
  CHECK(r[5] == EACCES);
  if (KernelAbi() >= 3) CHECK(r[6] == EACCES);
  CHECK(stdfs::exists(in + "/keep"));
  CHECK(stdfs::file_size(in + "/keep") == 4);
  CHECK_FALSE(stdfs::exists(out + "/new"));
}

TEST_CASE("a confined child cannot reach TCP, signal its parent or its abstract sockets") {
  if (KernelAbi() < 6) {
    MESSAGE("skipped: needs Landlock ABI 6, kernel has " << KernelAbi());
    return;
  }
  int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(tcp >= 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(tcp, reinterpret_cast<sockaddr*>(&sin), sizeof sin) == 0);
  socklen_t len = sizeof sin;
  REQUIRE(getsockname(tcp, reinterpret_cast<sockaddr*>(&sin), &len) == 0);
  REQUIRE(listen(tcp, 4) == 0);

  int unix_sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(unix_sock >= 0);
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  std::string name = "hive-landlock-test-" + std::to_string(getpid());
  std::memcpy(sun.sun_path + 1, name.data(), name.size());
  socklen_t sun_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  REQUIRE(bind(unix_sock, reinterpret_cast<sockaddr*>(&sun), sun_len) == 0);
  REQUIRE(listen(unix_sock, 4) == 0);

  auto p = Prepare(Spec({}));
  REQUIRE(p.ok());
  std::vector<long> r = RunConfined(*p, [&] {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    long tcp_rc = Try(connect(s, reinterpret_cast<sockaddr*>(&sin), sizeof sin));
    int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    long unix_rc = Try(connect(u, reinterpret_cast<sockaddr*>(&sun), sun_len));
    return std::vector<long>{tcp_rc, Try(kill(getppid(), 0)), unix_rc};
  });
  close(tcp);
  close(unix_sock);
  REQUIRE(r.size() == 3);
  CHECK(r[0] == EACCES);
  CHECK(r[1] == EPERM);
  CHECK(r[2] == EPERM);
}

TEST_CASE("enforced section names what was applied") {
  auto p = PrepareForAbi(Spec({"/work/out"}, {"delete"}), 7);
  REQUIRE(p.ok());
  nlohmann::json j = hive::LandlockEnforced(*p);
  CHECK(j["abi"] == 7);
  CHECK(j["applied"] == true);
  CHECK(j["filesystem"]["read_execute"][0] == "/");
  auto writable = j["filesystem"]["writable"].get<std::vector<std::string>>();
  CHECK(std::find(writable.begin(), writable.end(), "/work/out") != writable.end());
  auto denied = j["filesystem"]["denied_beneath_writable"].get<std::vector<std::string>>();
  CHECK(std::find(denied.begin(), denied.end(), "remove_file") != denied.end());
  CHECK(j["network"] == "tcp bind and connect denied");
  CHECK(j["scopes"].size() == 2);
}
