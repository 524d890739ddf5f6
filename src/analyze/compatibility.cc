#include "analyze/compatibility.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <set>

#include "hive/state_dir.h"
#include "sandbox/net/allowlist.h"

namespace hive::analyze {
namespace {

bool IsUnder(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

// Host directories the built-in sandbox shows read-only, and its private /tmp and /dev.
constexpr std::array<std::string_view, 13> kVisibleSystemDirs = {
    "/usr",  "/lib", "/lib32", "/lib64", "/bin", "/sbin",     "/etc",
    "/proc", "/dev", "/sys",   "/tmp",   "/opt", "/usr/local"};

class Checker {
 public:
  Checker(const Policy& policy, const std::string& working_dir)
      : policy_(policy), wd_(working_dir) {}

  void Network(const std::vector<NetworkUse>& uses) {
    const std::vector<std::string>& domains = policy_.network.allowed_domains;
    for (const NetworkUse& u : uses) {
      if (u.local) continue;
      // Without a network the socket's creation is the problem; with one, its address is.
      if (domains.empty() && u.on_socket) continue;
      if (!domains.empty() && !u.on_socket && u.what == "socket" && u.host.empty()) continue;
      std::string where = u.host.empty() ? "" : " to " + u.host;
      if (domains.empty()) {
        if (u.listens) {
          Add("network", "warning", u.line,
              fmt::format("{} listens for connections, but the sandbox has only a loopback "
                          "interface: nothing outside it can connect",
                          u.api),
              "security.network.allowed_domains",
              "serve from outside the sandbox, or accept that only the script reaches it");
        } else {
          Add("network", "blocking", u.line,
              fmt::format("{} opens a {} connection{}, but the policy gives the sandbox no "
                          "network",
                          u.api, u.what, where),
              "security.network.allowed_domains",
              u.host.empty() ? "list the hosts the script needs in "
                               "security.network.allowed_domains"
                             : fmt::format("add `{}` to security.network.allowed_domains", u.host));
        }
        continue;
      }
      if (!u.listens && u.host.empty()) {
        Add("network", "warning", u.line,
            fmt::format("{} connects to a host computed at run time; only allowed_domains are "
                        "reachable",
                        u.api),
            "security.network.allowed_domains",
            "make sure every host the script contacts is in security.network.allowed_domains");
      } else if (!u.listens && !DomainAllowed(u.host)) {
        Add("network", "blocking", u.line,
            fmt::format("{} connects to {}, which is not in allowed_domains", u.api, u.host),
            "security.network.allowed_domains",
            fmt::format("add `{}` to security.network.allowed_domains", u.host));
      }
      const std::vector<uint16_t>& blocked = policy_.network.blocked_ports;
      if (u.port > 0 && std::find(blocked.begin(), blocked.end(), u.port) != blocked.end()) {
        Add("network", "blocking", u.line,
            fmt::format("{} uses port {}, which the policy blocks", u.api, u.port),
            "security.network.blocked_ports",
            fmt::format("remove {} from security.network.blocked_ports", u.port));
      }
    }
  }

  void Files(const std::vector<FileUse>& uses) {
    std::set<std::pair<int, std::string>> seen;
    for (const FileUse& u : uses) {
      std::string path = Resolve(u);
      if (path.empty() || !seen.insert({u.line, path}).second) continue;
      bool allowed = std::any_of(policy_.filesystem.allowed_paths.begin(),
                                 policy_.filesystem.allowed_paths.end(),
                                 [&](const std::string& d) { return IsUnder(path, Abs(d)); });
      bool read_only = std::any_of(policy_.filesystem.read_only_paths.begin(),
                                   policy_.filesystem.read_only_paths.end(),
                                   [&](const std::string& d) { return IsUnder(path, Abs(d)); });
      bool tmp = IsUnder(path, "/tmp") || IsUnder(path, "/dev");
      std::string shown = u.exact ? path : path + "/...";
      if (u.write && !allowed && !tmp) {
        Add("filesystem", "blocking", u.line,
            fmt::format("{} writes `{}`, outside security.filesystem.allowed_paths{}", u.api, shown,
                        read_only ? " (it is read-only)" : ""),
            "security.filesystem.allowed_paths",
            fmt::format("add `{}` to security.filesystem.allowed_paths, or write under /tmp",
                        Parent(path, u.exact)));
      } else if (!u.write && !allowed && !read_only && !SystemVisible(path)) {
        Add("filesystem", "warning", u.line,
            fmt::format("{} reads `{}`, which the sandbox does not mount", u.api, shown),
            "security.filesystem.read_only_paths",
            fmt::format("add `{}` to security.filesystem.read_only_paths", Parent(path, u.exact)));
      }
    }
  }

  void Operations(const std::vector<OperationUse>& uses, const std::vector<FileUse>& files) {
    const std::vector<std::string>& blocked = policy_.filesystem.blocked_operations;
    auto is_blocked = [&](const std::string& op) {
      return std::find(blocked.begin(), blocked.end(), op) != blocked.end();
    };
    // Deletes and renames on the sandbox's own /tmp and /dev/shm go through (a temporary
    // directory's clean-up): a call whose path is known to be there is not an issue.
    auto on_private_tmp = [&](const OperationUse& u) {
      if (u.operation != "delete" && u.operation != "rename") return false;
      bool found = false, all_private = true;
      for (const FileUse& f : files) {
        if (f.line != u.line || f.api != u.api) continue;
        found = true;
        const std::string path = Resolve(f);
        // A host path the policy binds there is the host's, not the sandbox's.
        bool bound = false;
        for (const auto* list : {&policy_.filesystem.allowed_paths,
                                 &policy_.filesystem.read_only_paths}) {
          for (const std::string& d : *list) {
            if (d != "/tmp" && d != "/dev/shm" && (path == Abs(d) || IsUnder(path, Abs(d)))) {
              bound = true;
            }
          }
        }
        all_private &= !path.empty() && !bound &&
                       (IsUnder(path, "/tmp") || IsUnder(path, "/dev/shm"));
      }
      return found && all_private;
    };
    for (const OperationUse& u : uses) {
      if (on_private_tmp(u)) continue;
      if (is_blocked(u.operation)) {
        Add("operations", "blocking", u.line,
            fmt::format("{} performs `{}`, a blocked operation", u.api, u.operation),
            "security.filesystem.blocked_operations",
            fmt::format("remove `{}` from security.filesystem.blocked_operations, or change the "
                        "script not to need it",
                        u.operation));
      } else if (u.operation == "rename" && is_blocked("delete")) {
        // A rename may replace its target, which deletes it, and the sandbox cannot tell
        // beforehand: `delete` refuses every rename that could replace (the atomic-write
        // pattern: write a temporary file, then os.replace it over the real one).
        Add("operations", "blocking", u.line,
            fmt::format("{} renames, and a rename that may replace its target is refused "
                        "while `delete` is blocked (an atomic write with os.replace is one)",
                        u.api),
            "security.filesystem.blocked_operations",
            "remove `delete` from security.filesystem.blocked_operations, or write the file in "
            "place instead of replacing it");
      }
    }
  }

  // Processes at once: the interpreter, the largest call that waits for its children, and
  // everything started that runs on (Popen, pools, threads: the pids limit counts threads).
  void Processes(const std::vector<ProcessUse>& uses) {
    uint64_t max = policy_.execution.max_processes;
    if (max == 0 || uses.empty()) return;
    uint64_t waiting = 0, running = 0;
    bool unknown = false;
    int line = 0;
    for (const ProcessUse& u : uses) {
      if (u.count == 0 && !u.waits) unknown = true;
      uint64_t n = static_cast<uint64_t>(std::max(u.count, 0));
      if (u.waits)
        waiting = std::max(waiting, n);
      else
        running += n;
      if (line == 0 && n > 0) line = u.line;
    }
    uint64_t needed = 1 + waiting + running;
    if (max <= 1 && needed > 1) {
      Add("processes", "blocking", line,
          fmt::format("the script starts other processes or threads, but max_processes = {} "
                      "leaves room only for the interpreter",
                      max),
          "security.execution.max_processes",
          fmt::format("raise security.execution.max_processes to at least {}", needed));
    } else if (needed > max || unknown) {
      Add("processes", "warning", line,
          fmt::format("the script may run {}{} processes and threads at once; max_processes = "
                      "{}",
                      unknown ? "at least " : "up to ", needed, max),
          "security.execution.max_processes",
          fmt::format("raise security.execution.max_processes to at least {}", needed));
    }
  }

  void Sleeps(const std::vector<SleepUse>& sleeps) {
    double timeout = policy_.execution.timeout_seconds;
    if (timeout <= 0) return;
    double total = 0;
    for (const SleepUse& s : sleeps) {
      total += s.seconds;
      if (s.seconds >= timeout) {
        Add("timeout", "blocking", s.line,
            fmt::format("time.sleep({}) outlasts timeout_seconds = {}", s.seconds, timeout),
            "security.execution.timeout_seconds",
            fmt::format("raise security.execution.timeout_seconds above {}", s.seconds));
        return;
      }
    }
    if (total >= timeout) {
      Add("timeout", "warning", sleeps.front().line,
          fmt::format("the script sleeps {} s in all, as long as timeout_seconds = {}", total,
                      timeout),
          "security.execution.timeout_seconds",
          fmt::format("raise security.execution.timeout_seconds above {}", total));
    }
  }

  void RefuseAt(const std::string& risk_level) {
    const std::string& at = policy_.analysis.refuse_at;
    if (at.empty() || RiskRank(at) < 0 || RiskRank(risk_level) < RiskRank(at)) return;
    Add("analysis", "blocking", 0,
        fmt::format("risk level {} reaches analysis.refuse_at ({}): hive-run script refuses "
                    "to run it",
                    risk_level, at),
        "security.analysis.refuse_at", "fix the findings, or raise security.analysis.refuse_at");
  }

  Compatibility Result() {
    Compatibility c;
    c.policy = policy_.source;
    int blocking = 0, warnings = 0;
    for (const CompatibilityIssue& i : issues_) (i.severity == "blocking" ? blocking : warnings)++;
    c.score = std::max(0, 100 - 25 * blocking - 10 * warnings);
    c.compatible = blocking == 0;
    std::stable_sort(issues_.begin(), issues_.end(),
                     [](const auto& a, const auto& b) { return a.line < b.line; });
    c.issues = std::move(issues_);
    return c;
  }

 private:
  void Add(std::string category, std::string severity, int line, std::string detail,
           std::string key, std::string suggestion) {
    issues_.push_back({std::move(category), std::move(severity), line, std::move(detail),
                       std::move(key), std::move(suggestion)});
  }

  std::string Abs(const std::string& p) const { return AbsolutePath(p, wd_); }

  // The absolute path a file use names: exact, or the directory a computed path starts in.
  std::string Resolve(const FileUse& u) const {
    std::string p = u.path;
    if (!u.exact) {
      size_t slash = p.rfind('/');
      if (slash == std::string::npos) return "";
      p = p.substr(0, slash);
      if (p.empty()) return "";
    }
    if (p.empty()) return "";
    if (p[0] == '~') {
      const char* home = std::getenv("HOME");
      p = std::string(home ? home : "/root") + p.substr(1);
    }
    return Abs(p);
  }

  static std::string Parent(const std::string& path, bool exact) {
    if (!exact) return path;
    size_t slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
  }

  static bool SystemVisible(const std::string& path) {
    return std::any_of(kVisibleSystemDirs.begin(), kVisibleSystemDirs.end(),
                       [&](std::string_view d) { return IsUnder(path, std::string(d)); });
  }

  // The same matcher the run enforces (exact names, *.suffix below the apex, IPs, CIDRs).
  bool DomainAllowed(const std::string& host) const {
    auto list = net::Allowlist::Parse(policy_.network.allowed_domains);
    if (!list.ok()) return false;
    net::IpAddress ip;
    if (net::ParseIp(host, &ip)) return !list->AddressRule(ip).empty();
    return !list->NameRule(host).empty();
  }

  const Policy& policy_;
  std::string wd_;
  std::vector<CompatibilityIssue> issues_;
};

}  // namespace

Compatibility CheckCompatibility(const Facts& facts, const std::string& risk_level,
                                 const Policy& policy, const std::string& working_dir) {
  Checker c(policy, working_dir);
  c.Network(facts.network);
  c.Files(facts.files);
  c.Operations(facts.operations, facts.files);
  c.Processes(facts.processes);
  c.Sleeps(facts.sleeps);
  c.RefuseAt(risk_level);
  return c.Result();
}

}  // namespace hive::analyze
