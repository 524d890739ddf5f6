// hive-run selftest: what this kernel offers, and the attack suite against this build.
//
//   hive-run selftest [--policy FILE] [--attack PROGRAM] [--probe NAME]... [--no-attacks]
//                     [--json] [--state-dir DIR]
//
// Kernel features first (user namespaces, cgroup layout, Landlock ABI, seccomp user
// notification), then every probe of the attack program (tests/attacks/attack), each in its
// own sandbox started by this very binary (`hive-run exec`), under --policy or the attack
// policy (default profile, every blocked operation, a writable directory of victims). A
// probe is contained when it says so and the host shows no trace of it (its target process
// alive and untraced, the victims unchanged); recorded when the report lists the denials it
// provoked. Runs use a temporary state directory unless --state-dir is given, so the user's
// audit log does not fill with attacks. Exit status: 0 all contained, 1 something escaped,
// 125 the suite could not run.
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/files.h"
#include "base/unique_fd.h"
#include "cli/commands.h"
#include "sandbox/cgroups/layout.h"
#include "sandbox/landlock/landlock.h"
#include "sandbox/seccomp/seccomp.h"

namespace hive::cli {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

constexpr const char* kUsage =
    "usage: hive-run selftest [--policy FILE] [--attack PROGRAM] [--probe NAME]... "
    "[--no-attacks] [--json] [--state-dir DIR]\n";
constexpr const char* kBlocked = "delete, chmod, chown, rename, link, mknod, truncate, xattr";
constexpr const char* kVictim = "precious";

struct Options {
  std::string policy, attack, state_dir;
  std::vector<std::string> probes;
  bool attacks = true;
  bool json = false;
};

struct Captured {
  int status = -1;
  std::string out, err;
};

// Runs argv with an extra environment variable and one inherited descriptor; collects both
// output streams (the probe prints one JSON line).
Captured RunCapture(const std::vector<std::string>& argv, const std::string& env_kv, int keep_fd) {
  Captured c;
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) return c;
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    if (keep_fd >= 0) fcntl(keep_fd, F_SETFD, 0);
    putenv(const_cast<char*>(env_kv.c_str()));
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0 && poll(fds, 2, -1) > 0) {
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? c.out : c.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  waitpid(pid, &c.status, 0);
  return c;
}

std::string SelfExe() {
  std::error_code ec;
  return fs::read_symlink("/proc/self/exe", ec).string();
}

std::string FindAttack(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* env = std::getenv("HIVE_RUN_ATTACK"); env && *env) return env;
  fs::path dir = fs::path(SelfExe()).parent_path();
  for (fs::path p : {dir / "tests" / "attacks" / "attack",
                     dir.parent_path() / "libexec" / "hive-run" / "attack"}) {
    std::error_code ec;
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  return "";
}

// ---- kernel features ----

std::string UserNamespaces() {
  pid_t pid = fork();
  if (pid == 0) _exit(unshare(CLONE_NEWUSER) == 0 ? 0 : 1);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "yes";
  std::ifstream f("/proc/sys/kernel/unprivileged_userns_clone");
  int v = 1;
  if (f >> v && v == 0) return "no (set kernel.unprivileged_userns_clone=1)";
  return "no (user.max_user_namespaces or a security module forbids them)";
}

// As the run's cgroups see the host (cgroups::DetectLayout), not a second guess at it.
std::string CgroupLayout() {
  Result<cgroups::Layout> layout = cgroups::DetectLayout();
  if (!layout.ok()) return "unknown (" + layout.status().message() + ")";
  switch (layout->kind) {
    case cgroups::LayoutKind::kNone:
      return "none (/sys/fs/cgroup is not mounted)";
    case cgroups::LayoutKind::kUnified:
      return "v2 (unified)";
    case cgroups::LayoutKind::kHybrid:
      return "hybrid (v1 controllers, v2 at " + layout->Unified()->mount_point + ")";
    case cgroups::LayoutKind::kLegacy:
      return "v1";
  }
  return "unknown";
}

json Features() {
  utsname u{};
  uname(&u);
  int abi = landlock::KernelAbi();
  std::string landlock = abi == 0 ? "not available" : fmt::format("ABI {}", abi);
  if (abi > 0 && abi < 4)
    landlock += " (no TCP rules: needs 4)";
  else if (abi > 0 && abi < 6)
    landlock += " (no scoping: needs 6)";
  return {
      {"kernel", u.release},
      {"user_namespaces", UserNamespaces()},
      {"cgroups", CgroupLayout()},
      {"landlock", landlock},
      {"seccomp_user_notification",
       seccomp::NotifySupported() ? "yes" : "no (denials not recorded)"},
  };
}

// ---- what the probes aim at on the host ----

class Targets {
 public:
  bool Open(const std::string& dir) {
    secret_ = dir + "/secret";
    token_ = "hive-selftest-" + Sha256Hex(std::to_string(getpid()) + Rfc3339Now()).substr(0, 12);
    if (!WriteFileAtomic(secret_, token_, 0600).ok()) return false;
    sleeper_ = fork();
    if (sleeper_ == 0) {
      for (;;) pause();
    }
    tcp_.Reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sin;
    if (bind(tcp_.get(), reinterpret_cast<sockaddr*>(&sin), sizeof sin) != 0 ||
        listen(tcp_.get(), 4) != 0 ||
        getsockname(tcp_.get(), reinterpret_cast<sockaddr*>(&sin), &len) != 0) {
      return false;
    }
    port_ = ntohs(sin.sin_port);
    abstract_ = fmt::format("hive-selftest-{}", getpid());
    unix_.Reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sun{};
    sun.sun_family = AF_UNIX;
    std::memcpy(sun.sun_path + 1, abstract_.data(), abstract_.size());
    auto sun_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + abstract_.size());
    if (bind(unix_.get(), reinterpret_cast<sockaddr*>(&sun), sun_len) != 0 ||
        listen(unix_.get(), 4) != 0) {
      return false;
    }
    fd_.Reset(open(secret_.c_str(), O_RDONLY | O_CLOEXEC));
    return fd_.valid();
  }
  ~Targets() {
    if (sleeper_ > 0) {
      kill(sleeper_, SIGKILL);
      waitpid(sleeper_, nullptr, 0);
    }
  }

  std::vector<std::string> Args(const std::string& work) const {
    return {"--dir",      work,
            "--pid",      std::to_string(sleeper_),
            "--port",     std::to_string(port_),
            "--abstract", abstract_,
            "--secret",   secret_,
            "--fd",       std::to_string(fd_.get()),
            "--token",    token_};
  }
  const std::string& token() const { return token_; }
  int fd() const { return fd_.get(); }

  // Traces the probe left on the host, or "".
  std::string Damage() const {
    if (kill(sleeper_, 0) != 0) return "the host process was killed";
    std::ifstream status(fmt::format("/proc/{}/status", sleeper_));
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("TracerPid:", 0) == 0 &&
          line.find_first_not_of("\t 0", 10) != std::string::npos) {
        return "the host process is being traced";
      }
    }
    for (const char* d : {"/etc", "/usr/bin", "/"}) {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(d, ec)) {
        if (e.path().filename().string().rfind("hive-attack-", 0) == 0) {
          return e.path().string() + " was created";
        }
      }
    }
    return "";
  }

 private:
  pid_t sleeper_ = -1;
  UniqueFd tcp_, unix_, fd_;
  int port_ = 0;
  std::string abstract_, secret_, token_;
};

void MakeVictims(const std::string& work) {
  std::error_code ec;
  fs::remove_all(work, ec);
  fs::create_directories(work + "/victim-dir", ec);
  std::ofstream(work + "/victim") << kVictim;
  std::ofstream(work + "/decoy") << "decoy";
  chmod(work.c_str(), 0755);
  chmod((work + "/victim").c_str(), 0644);
}

std::string VictimDamage(const std::string& work) {
  std::string victim = work + "/victim";
  struct stat st {};
  if (lstat(victim.c_str(), &st) != 0) return "the victim file is gone";
  auto text = ReadFile(victim);
  if (!text.ok() || text.value() != kVictim) return "the victim's content changed";
  if ((st.st_mode & 0777) != 0644) return "the victim's mode changed";
  if (st.st_uid != getuid()) return "the victim's owner changed";
  if (st.st_nlink != 1) return "the victim got another link";
  if (getxattr(victim.c_str(), "user.hive", nullptr, 0) >= 0) return "the victim got an xattr";
  if (!fs::is_directory(work + "/victim-dir")) return "the victim directory is gone";
  for (const char* extra : {"renamed", "hardlink", "fifo", "moved"}) {
    if (fs::exists(fs::symlink_status(work + "/" + extra)))
      return std::string(extra) + " was created";
  }
  return "";
}

void WriteAttackPolicy(const std::string& path, const std::string& work) {
  std::ofstream(path) << "security:\n"
                      << "  filesystem:\n"
                      << "    allowed_paths: [\"" << work << "\"]\n"
                      << "    blocked_operations: [" << kBlocked << "]\n"
                      << "  network:\n"
                      << "    allowed_domains: []\n"
                      << "  process:\n"
                      << "    seccomp_profile: default\n";
}

bool Recorded(const json& violations, const std::string& expected) {
  for (const json& v : violations) {
    std::string d = v.value("detail", "");
    if (d == expected || d.rfind(expected + " (", 0) == 0) return true;
  }
  return false;
}

struct ProbeResult {
  std::string name, category, stopped_by;
  std::string result;    // "contained", "escaped", "error"
  std::string detail;    // why escaped / error text
  std::string recorded;  // "yes", "no: ...", "n/a: ..."
};

ProbeResult RunProbe(const json& probe, const Options& o, const std::string& attack,
                     const std::string& scratch, const std::string& state_dir,
                     const Targets& targets) {
  ProbeResult r{probe.value("name", ""),
                probe.value("category", ""),
                probe.value("stopped_by", ""),
                "error",
                "",
                "no"};
  std::string work = scratch + "/work", report = scratch + "/report.json";
  MakeVictims(work);
  std::string policy = o.policy;
  if (policy.empty()) {
    policy = scratch + "/policy.yml";
    WriteAttackPolicy(policy, work);
  }
  std::error_code ec;
  fs::remove(report, ec);
  std::vector<std::string> argv = {
      SelfExe(),  "--state-dir", state_dir,   "exec", "--quiet", "--policy",          policy,
      "--report", report,        "--timeout", "60",   "--bind",  attack + ":/attack", "--",
      "/attack",  r.name};
  for (const std::string& a : targets.Args(work)) argv.push_back(a);
  Captured c = RunCapture(argv, "HIVE_ATTACK_SECRET=" + targets.token(), targets.fd());

  json out;
  for (size_t pos = 0; pos < c.out.size();) {
    size_t end = c.out.find('\n', pos);
    std::string line = c.out.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (line.rfind("{\"probe\"", 0) == 0) out = json::parse(line, nullptr, false);
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  auto report_text = ReadFile(report);
  json rep = report_text.ok() ? json::parse(report_text.value(), nullptr, false) : json();
  if (!out.is_object() || !rep.is_object()) {
    std::string err = c.err;
    while (!err.empty() && err.back() == '\n') err.pop_back();
    r.detail = err.empty() ? fmt::format("no result (exit status {})", c.status) : err;
    return r;
  }
  std::string damage = targets.Damage();
  if (damage.empty()) damage = VictimDamage(work);
  if (!out.value("contained", false)) {
    r.result = "escaped";
    r.detail = out.value("escaped", "");
  } else if (!damage.empty()) {
    r.result = "escaped";
    r.detail = damage;
  } else {
    r.result = "contained";
  }
  std::string note = out.value("note", "");
  if (note.rfind("unrecordable:", 0) == 0) {
    r.recorded = "n/a: " + note.substr(14);
    return r;
  }
  std::vector<std::string> missing;
  for (const json& e : probe.value("expect", json::array())) {
    if (!Recorded(rep.value("violations", json::array()), e.get<std::string>())) {
      missing.push_back(e.get<std::string>());
    }
  }
  r.recorded = missing.empty() ? "yes" : "no: " + fmt::format("{}", fmt::join(missing, ", "));
  return r;
}

std::string RecordedColumn(const ProbeResult& r) {
  if (r.result == "error") return "-";
  if (r.recorded == "yes") return "yes";
  return r.recorded.rfind("n/a", 0) == 0 ? "n/a" : "NO";
}

std::string Pad(const std::string& s, size_t width) {
  return s.size() >= width ? s.substr(0, width) : s + std::string(width - s.size(), ' ');
}

}  // namespace

int SelftestCommand(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    bool ok = true;
    if (a == "--policy")
      ok = value(&o.policy);
    else if (a == "--attack")
      ok = value(&o.attack);
    else if (a == "--state-dir")
      ok = value(&o.state_dir);
    else if (a == "--probe") {
      std::string p;
      ok = value(&p);
      o.probes.push_back(p);
    } else if (a == "--no-attacks")
      o.attacks = false;
    else if (a == "--json")
      o.json = true;
    else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fprintf(stderr, "hive-run selftest: bad argument `%s`\n%s", a.c_str(), kUsage);
      return 125;
    }
  }
  if (!o.policy.empty()) o.policy = fs::absolute(o.policy).string();

  json features = Features();
  json result = {{"features", features}};
  if (!o.json) {
    std::printf("kernel features\n");
    for (auto& [k, v] : features.items()) {
      std::printf("  %-27s %s\n", k.c_str(), v.get<std::string>().c_str());
    }
  }
  if (!o.attacks) {
    if (o.json) std::printf("%s\n", result.dump(2).c_str());
    return 0;
  }

  std::string attack = FindAttack(o.attack);
  if (attack.empty()) {
    std::fprintf(stderr,
                 "hive-run selftest: the attack program was not found (build with -Dtests=true, "
                 "or pass --attack PROGRAM)\n");
    return 125;
  }
  Captured list = RunCapture({attack, "list"}, "HIVE_SELFTEST=1", -1);
  json probes = json::parse(list.out, nullptr, false);
  if (!probes.is_array()) {
    std::fprintf(stderr, "hive-run selftest: `%s list` did not print a probe list\n",
                 attack.c_str());
    return 125;
  }

  char tmpl[] = "/tmp/hive-selftest-XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::perror("hive-run selftest: mkdtemp");
    return 125;
  }
  std::string scratch = tmpl;
  chmod(scratch.c_str(), 0755);
  std::string state_dir = o.state_dir.empty() ? scratch + "/state" : o.state_dir;
  std::vector<ProbeResult> results;
  {
    Targets targets;
    if (!targets.Open(scratch)) {
      std::fprintf(stderr, "hive-run selftest: cannot set up the host targets: %s\n",
                   std::strerror(errno));
      fs::remove_all(scratch);
      return 125;
    }
    if (!o.json) {
      std::printf("\nattack suite: %s\npolicy: %s\n\n%s %s %s %s %s\n", attack.c_str(),
                  o.policy.empty() ? "attack policy (default profile, every blocked operation)"
                                   : o.policy.c_str(),
                  Pad("PROBE", 22).c_str(), Pad("CATEGORY", 19).c_str(), Pad("RESULT", 10).c_str(),
                  Pad("RECORDED", 9).c_str(), "STOPPED BY");
    }
    for (const json& p : probes) {
      std::string name = p.value("name", "");
      if (!o.probes.empty() &&
          std::find(o.probes.begin(), o.probes.end(), name) == o.probes.end()) {
        continue;
      }
      ProbeResult r = RunProbe(p, o, attack, scratch, state_dir, targets);
      if (!o.json) {
        std::printf("%s %s %s %s %s\n", Pad(r.name, 22).c_str(), Pad(r.category, 19).c_str(),
                    Pad(r.result, 10).c_str(), Pad(RecordedColumn(r), 9).c_str(),
                    r.stopped_by.c_str());
        if (!r.detail.empty() && r.result != "contained") std::printf("    %s\n", r.detail.c_str());
        if (r.recorded.rfind("no:", 0) == 0 || r.recorded.rfind("n/a:", 0) == 0) {
          std::printf("    recorded %s\n", r.recorded.c_str());
        }
        std::fflush(stdout);
      }
      results.push_back(std::move(r));
    }
  }
  std::error_code ec;
  fs::remove_all(scratch, ec);

  int contained = 0, escaped = 0, errors = 0, recorded = 0;
  json rows = json::array();
  for (const ProbeResult& r : results) {
    contained += r.result == "contained";
    escaped += r.result == "escaped";
    errors += r.result == "error";
    recorded += r.recorded == "yes";
    rows.push_back({{"probe", r.name},
                    {"category", r.category},
                    {"result", r.result},
                    {"recorded", r.recorded},
                    {"stopped_by", r.stopped_by},
                    {"detail", r.detail}});
  }
  result["probes"] = rows;
  result["summary"] = {{"probes", results.size()},
                       {"contained", contained},
                       {"escaped", escaped},
                       {"errors", errors},
                       {"recorded", recorded}};
  if (o.json) {
    std::printf("%s\n", result.dump(2).c_str());
  } else {
    std::printf("\n%zu probes: %d contained, %d escaped, %d could not run; %d denials recorded\n",
                results.size(), contained, escaped, errors, recorded);
  }
  if (escaped > 0) return 1;
  return errors > 0 ? 125 : 0;
}

}  // namespace hive::cli
