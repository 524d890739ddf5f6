// The policy loader: YAML → Policy, one function per section, every error with file:line:col
// and the key path. yaml-cpp exceptions stop here.
#include "hive/policy.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "base/files.h"
#include "base/user_text.h"
#include "hive/state_dir.h"
#include "sandbox/net/allowlist.h"

namespace hive {
namespace {

// A key as it appears in a key path: quoted and cut short unless it is a plain name, so that a
// message quotes no more of the file than one token.
std::string KeyPath(const std::string& path, const std::string& key) {
  bool plain = !key.empty() && key.size() <= kQuotedMax;
  for (char c : key) {
    plain = plain && (isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
  }
  const std::string shown = plain ? key : Quoted(key);
  return path.empty() ? shown : path + "." + shown;
}

// Carries the file name and the key path for messages.
class Walker {
 public:
  Walker(std::string source, std::string base_dir)
      : source_(std::move(source)), base_dir_(std::move(base_dir)) {}

  Status Fail(const YAML::Node& node, const std::string& path, const std::string& what) const {
    const YAML::Mark m = node.Mark();
    if (m.line >= 0) {
      return Error(Code::kInvalidArgument,
                   fmt::format("{}:{}:{}: {}: {}", source_, m.line + 1, m.column + 1, path, what));
    }
    return Error(Code::kInvalidArgument, fmt::format("{}: {}: {}", source_, path, what));
  }

  static std::string Shown(const YAML::Node& n) {
    if (n.IsScalar()) return Quoted(n.Scalar());
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a mapping";
    return "null";
  }

  // Visits each key of a mapping; unknown keys are errors naming the allowed ones.
  Status Map(const YAML::Node& node, const std::string& path,
             const std::vector<std::pair<std::string, std::function<Status(const YAML::Node&,
                                                                           const std::string&)>>>&
                 fields) const {
    if (!node.IsMap()) return Fail(node, path, "expected a mapping, got " + Shown(node));
    std::set<std::string> seen;
    for (const auto& kv : node) {
      const std::string key = kv.first.Scalar();
      const std::string sub = KeyPath(path, key);
      if (!seen.insert(key).second) return Fail(kv.first, sub, "duplicate key");
      bool known = false;
      for (const auto& [name, fn] : fields) {
        if (name == key) {
          known = true;
          HIVE_TRY(fn(kv.second, sub));
        }
      }
      if (!known) {
        std::string names;
        for (const auto& f : fields) names += (names.empty() ? "" : ", ") + f.first;
        return Fail(kv.first, sub, fmt::format("unknown key (expected one of: {})", names));
      }
    }
    return Ok();
  }

  // Numbers go through the parser the command line uses too (base/user_text.h).
  Status UInt(const YAML::Node& n, const std::string& path, uint64_t* out, uint64_t min,
              uint64_t max) const {
    if (!n.IsScalar()) return Fail(n, path, "expected an integer, got " + Shown(n));
    Result<uint64_t> v = ParseUnsigned(n.Scalar(), min, max);
    if (!v.ok()) return Fail(n, path, v.status().message());
    *out = *v;
    return Ok();
  }

  Status Number(const YAML::Node& n, const std::string& path, double* out, double min,
                double max) const {
    if (!n.IsScalar()) return Fail(n, path, "expected a number, got " + Shown(n));
    Result<double> v = ParseDecimal(n.Scalar(), min, max);
    if (!v.ok()) return Fail(n, path, v.status().message());
    *out = *v;
    return Ok();
  }

  Status Bool(const YAML::Node& n, const std::string& path, bool* out) const {
    if (!n.IsScalar()) return Fail(n, path, "expected true or false, got " + Shown(n));
    const std::string& s = n.Scalar();
    if (s == "true") *out = true;
    else if (s == "false") *out = false;
    else return Fail(n, path, "expected true or false, got " + Shown(n));
    return Ok();
  }

  Status String(const YAML::Node& n, const std::string& path, std::string* out,
                const std::vector<std::string>& allowed = {}) const {
    if (!n.IsScalar()) return Fail(n, path, "expected a string, got " + Shown(n));
    if (!allowed.empty() &&
        std::find(allowed.begin(), allowed.end(), n.Scalar()) == allowed.end()) {
      std::string names;
      for (const auto& a : allowed) names += (names.empty() ? "" : ", ") + a;
      return Fail(n, path, fmt::format("expected one of {}, got {}", names, Shown(n)));
    }
    *out = n.Scalar();
    return Ok();
  }

  Status StringList(const YAML::Node& n, const std::string& path, std::vector<std::string>* out,
                    const std::vector<std::string>& allowed = {}) const {
    if (n.IsNull()) {
      out->clear();
      return Ok();
    }
    if (!n.IsSequence()) return Fail(n, path, "expected a list, got " + Shown(n));
    out->clear();
    for (size_t i = 0; i < n.size(); ++i) {
      std::string v;
      HIVE_TRY(String(n[i], fmt::format("{}[{}]", path, i), &v, allowed));
      out->push_back(v);
    }
    return Ok();
  }

  Status PathList(const YAML::Node& n, const std::string& path,
                  std::vector<std::string>* out) const {
    HIVE_TRY(StringList(n, path, out));
    for (size_t i = 0; i < out->size(); ++i) {
      std::string& p = (*out)[i];
      if (p.empty()) return Fail(n[i], fmt::format("{}[{}]", path, i), "empty path");
      p = AbsolutePath(p, base_dir_);
    }
    return Ok();
  }

 private:
  std::string source_;
  std::string base_dir_;
};

using Field = std::pair<std::string, std::function<Status(const YAML::Node&, const std::string&)>>;

// The namespaces a policy may let a config.json share with the host (ProcessPolicy).
const std::vector<std::string> kHostNamespaces = {"network", "uts", "ipc", "pid"};

const std::vector<std::string> kBlockedOperations = {"delete", "chmod", "chown",  "rename",
                                                     "link",   "mknod", "truncate", "xattr"};

Status LoadExecution(const Walker& w, const YAML::Node& n, const std::string& p,
                     ExecutionLimits* e) {
  auto u = [&](uint64_t* out, uint64_t min, uint64_t max) {
    return [&w, out, min, max](const YAML::Node& v, const std::string& path) {
      return w.UInt(v, path, out, min, max);
    };
  };
  std::vector<Field> fields = {
      {"timeout_seconds",
       [&](const YAML::Node& v, const std::string& path) {
         return w.Number(v, path, &e->timeout_seconds, 0, kMaxSeconds);
       }},
      {"cpu_seconds", u(&e->cpu_seconds, 0, kMaxSeconds)},
      {"memory_mb", u(&e->memory_mb, 0, kMaxMegabytes)},
      {"file_size_mb", u(&e->file_size_mb, 0, kMaxMegabytes)},
      {"max_processes", u(&e->max_processes, 0, kMaxProcesses)},
      {"max_open_files", u(&e->max_open_files, 3, kMaxOpenFiles)},
      {"tmp_size_mb", u(&e->tmp_size_mb, 1, kMaxMegabytes)},
      {"cpus",
       [&](const YAML::Node& v, const std::string& path) {
         HIVE_TRY(w.Number(v, path, &e->cpus, 0, kMaxCpus));
         if (e->cpus > 0 && e->cpus < kMinCpus) {
           // The kernel's smallest quota; below it the report would show less than enforced.
           return w.Fail(v, path,
                         fmt::format("{} is out of range (0 for no limit, or {}..{})", v.Scalar(),
                                     kMinCpus, kMaxCpus));
         }
         return Ok();
       }},
      {"io",
       [&](const YAML::Node& v, const std::string& path) {
         return w.Map(v, path,
                      {{"read_bps", u(&e->io_read_bps, 0, kMaxBytesPerSecond)},
                       {"write_bps", u(&e->io_write_bps, 0, kMaxBytesPerSecond)}});
       }},
      {"require_limits",
       [&](const YAML::Node& v, const std::string& path) {
         HIVE_TRY(w.Bool(v, path, &e->require_limits));
         // Limits are never dropped for want of a cgroup: a run gets them or is refused.
         if (!e->require_limits) {
           return w.Fail(v, path,
                         "false is not accepted: every limit the policy sets is enforced or the "
                         "run is refused; set the limit itself to 0 to run without it");
         }
         return Ok();
       }},
  };
  return w.Map(n, p, fields);
}

Status LoadFilesystem(const Walker& w, const YAML::Node& n, const std::string& p,
                      FilesystemPolicy* f) {
  return w.Map(n, p,
               {{"allowed_paths",
                 [&](const YAML::Node& v, const std::string& path) {
                   return w.PathList(v, path, &f->allowed_paths);
                 }},
                {"read_only_paths",
                 [&](const YAML::Node& v, const std::string& path) {
                   return w.PathList(v, path, &f->read_only_paths);
                 }},
                {"blocked_operations",
                 [&](const YAML::Node& v, const std::string& path) {
                   return w.StringList(v, path, &f->blocked_operations, kBlockedOperations);
                 }},
                {"writable_rootfs",
                 [&](const YAML::Node& v, const std::string& path) {
                   return w.Bool(v, path, &f->writable_rootfs);
                 }},
                {"engine_files_writable", [&](const YAML::Node& v, const std::string& path) {
                   return w.Bool(v, path, &f->engine_files_writable);
                 }}});
}

Status LoadPorts(const Walker& w, const YAML::Node& v, const std::string& path,
                 std::vector<uint16_t>* out) {
  if (v.IsNull()) {
    out->clear();
    return Ok();
  }
  if (!v.IsSequence()) return w.Fail(v, path, "expected a list, got " + Walker::Shown(v));
  out->clear();
  for (size_t i = 0; i < v.size(); ++i) {
    uint64_t port = 0;
    HIVE_TRY(w.UInt(v[i], fmt::format("{}[{}]", path, i), &port, 1, 65535));
    out->push_back(static_cast<uint16_t>(port));
  }
  return Ok();
}

Status LoadNetwork(const Walker& w, const YAML::Node& n, const std::string& p, NetworkPolicy* net) {
  return w.Map(
      n, p,
      {{"allowed_domains",
        [&](const YAML::Node& v, const std::string& path) {
          HIVE_TRY(w.StringList(v, path, &net->allowed_domains));
          // Names, *.suffix wildcards, IPs and CIDRs; the matcher says what is wrong.
          auto list = net::Allowlist::Parse(net->allowed_domains);
          if (!list.ok()) {
            const std::string& m = list.status().message();
            const size_t close = m.find(']');
            const size_t i = std::stoul(m.substr(1, close - 1));
            return w.Fail(v[i], fmt::format("{}[{}]", path, i), m.substr(close + 3));
          }
          return Ok();
        }},
       {"blocked_ports",
        [&](const YAML::Node& v, const std::string& path) {
          return LoadPorts(w, v, path, &net->blocked_ports);
        }},
       {"allowed_ports",
        [&](const YAML::Node& v, const std::string& path) {
          return LoadPorts(w, v, path, &net->allowed_ports);
        }},
       {"inspect_ports",
        [&](const YAML::Node& v, const std::string& path) {
          return LoadPorts(w, v, path, &net->inspect_ports);
        }},
       {"upstream_dns", [&](const YAML::Node& v, const std::string& path) {
          HIVE_TRY(w.StringList(v, path, &net->upstream_dns));
          for (size_t i = 0; i < net->upstream_dns.size(); ++i) {
            net::IpAddress ip;
            if (!net::ParseIp(net->upstream_dns[i], &ip)) {
              return w.Fail(v[i], fmt::format("{}[{}]", path, i),
                            "expected an IP address, got " + Quoted(net->upstream_dns[i]));
            }
          }
          return Ok();
        }}});
}

Status LoadProcess(const Walker& w, const YAML::Node& n, const std::string& p, ProcessPolicy* pr) {
  return w.Map(
      n, p,
      {{"seccomp_profile",
        [&](const YAML::Node& v, const std::string& path) {
          return w.String(v, path, &pr->seccomp_profile);
        }},
       {"capabilities",
        [&](const YAML::Node& v, const std::string& path) {
          HIVE_TRY(w.StringList(v, path, &pr->capabilities));
          for (size_t i = 0; i < pr->capabilities.size(); ++i) {
            if (pr->capabilities[i].rfind("CAP_", 0) != 0) {
              return w.Fail(v[i], fmt::format("{}[{}]", path, i),
                            "expected a capability name like CAP_NET_BIND_SERVICE, got " +
                                Quoted(pr->capabilities[i]));
            }
          }
          return Ok();
        }},
       {"allowed_binaries",
        [&](const YAML::Node& v, const std::string& path) {
          std::vector<std::string> names;
          HIVE_TRY(w.StringList(v, path, &names));
          for (size_t i = 0; i < names.size(); ++i) {
            if (names[i].empty()) return w.Fail(v[i], fmt::format("{}[{}]", path, i), "empty name");
          }
          pr->allowed_binaries = std::move(names);
          return Ok();
        }},
       {"tools_dirs",
        [&](const YAML::Node& v, const std::string& path) {
          return w.PathList(v, path, &pr->tools_dirs);
        }},
       {"allow_oci_hooks",
        [&](const YAML::Node& v, const std::string& path) {
          return w.Bool(v, path, &pr->allow_oci_hooks);
        }},
       {"host_namespaces",
        [&](const YAML::Node& v, const std::string& path) {
          HIVE_TRY(w.StringList(v, path, &pr->host_namespaces));
          for (size_t i = 0; i < pr->host_namespaces.size(); ++i) {
            const std::string& t = pr->host_namespaces[i];
            if (std::find(kHostNamespaces.begin(), kHostNamespaces.end(), t) !=
                kHostNamespaces.end()) {
              continue;
            }
            const bool own = t == "user" || t == "mount" || t == "cgroup" || t == "time";
            return w.Fail(v[i], fmt::format("{}[{}]", path, i),
                          own ? fmt::format("{}: a run's {} namespace is always its own (expected "
                                            "network, uts, ipc or pid)",
                                            Quoted(t), t)
                              : fmt::format("expected network, uts, ipc or pid, got {}",
                                            Quoted(t)));
          }
          return Ok();
        }},
       {"env", [&](const YAML::Node& v, const std::string& path) {
          return w.Map(v, path,
                       {{"pass",
                         [&](const YAML::Node& x, const std::string& xp) {
                           return w.StringList(x, xp, &pr->env_pass);
                         }},
                        {"set", [&](const YAML::Node& x, const std::string& xp) {
                           if (x.IsNull()) return Ok();
                           if (!x.IsMap()) {
                             return w.Fail(x, xp, "expected a mapping, got " + Walker::Shown(x));
                           }
                           pr->env_set.clear();
                           for (const auto& kv : x) {
                             std::string val;
                             const std::string& k = kv.first.Scalar();
                             HIVE_TRY(w.String(kv.second, KeyPath(xp, k), &val));
                             if (k.empty() || k.find('=') != std::string::npos) {
                               return w.Fail(kv.first, xp, "bad variable name " + Quoted(k));
                             }
                             if (!pr->env_set.emplace(k, val).second) {
                               return w.Fail(kv.first, KeyPath(xp, k), "duplicate key");
                             }
                           }
                           return Ok();
                         }}});
        }}});
}

Status LoadMonitoring(const Walker& w, const YAML::Node& n, const std::string& p,
                      MonitoringPolicy* m) {
  AlertThresholds& a = m->alert_thresholds;
  return w.Map(
      n, p,
      {{"log_level",
        [&](const YAML::Node& v, const std::string& path) {
          return w.String(v, path, &m->log_level, {"DEBUG", "INFO", "WARNING", "ERROR"});
        }},
       {"alert_thresholds", [&](const YAML::Node& v, const std::string& path) {
          return w.Map(v, path,
                       {{"cpu_usage",
                         [&](const YAML::Node& x, const std::string& xp) {
                           return w.Number(x, xp, &a.cpu_usage, 0, 100000);
                         }},
                        {"memory_usage",
                         [&](const YAML::Node& x, const std::string& xp) {
                           return w.Number(x, xp, &a.memory_usage, 0, 100);
                         }},
                        {"execution_time", [&](const YAML::Node& x, const std::string& xp) {
                           return w.Number(x, xp, &a.execution_time, 0, 31536000);
                         }}});
        }}});
}

// The audit log is where hive-run, often as root, creates and appends to a file: a bundle's own
// policy.yml may not name it, not even to repeat the default.
Status RefuseBundleAudit(const Walker& w, const YAML::Node& root) {
  if (!root.IsMap()) return Ok();
  for (const auto& top : root) {
    if (top.first.Scalar() != "security" || !top.second.IsMap()) continue;
    for (const auto& kv : top.second) {
      if (kv.first.Scalar() != "audit") continue;
      return w.Fail(kv.first, "security.audit",
                    "a bundle's own policy may not choose the audit log; its destination is the "
                    "operator's (a policy given with --policy, or --state-dir)");
    }
  }
  return Ok();
}

Status LoadRoot(const Walker& w, const YAML::Node& root, PolicyOrigin origin, Policy* policy) {
  if (root.IsNull()) return Ok();  // an empty file is the default policy
  if (origin == PolicyOrigin::kBundle) HIVE_TRY(RefuseBundleAudit(w, root));
  return w.Map(root, "", {{"security", [&](const YAML::Node& sec, const std::string& p) {
    return w.Map(
        sec, p,
        {{"execution",
          [&](const YAML::Node& v, const std::string& path) {
            return LoadExecution(w, v, path, &policy->execution);
          }},
         {"filesystem",
          [&](const YAML::Node& v, const std::string& path) {
            return LoadFilesystem(w, v, path, &policy->filesystem);
          }},
         {"network",
          [&](const YAML::Node& v, const std::string& path) {
            return LoadNetwork(w, v, path, &policy->network);
          }},
         {"process",
          [&](const YAML::Node& v, const std::string& path) {
            return LoadProcess(w, v, path, &policy->process);
          }},
         {"landlock",
          [&](const YAML::Node& v, const std::string& path) {
            return w.Map(v, path, {{"best_effort", [&](const YAML::Node& x, const std::string& xp) {
                                      return w.Bool(x, xp, &policy->landlock.best_effort);
                                    }}});
          }},
         {"monitoring",
          [&](const YAML::Node& v, const std::string& path) {
            return LoadMonitoring(w, v, path, &policy->monitoring);
          }},
         {"audit",
          [&](const YAML::Node& v, const std::string& path) {
            return w.Map(v, path, {{"log", [&](const YAML::Node& x, const std::string& xp) {
                                      return w.String(x, xp, &policy->audit.log);
                                    }}});
          }},
         {"analysis", [&](const YAML::Node& v, const std::string& path) {
            return w.Map(v, path, {{"refuse_at", [&](const YAML::Node& x, const std::string& xp) {
                                      if (x.IsNull()) return Ok();
                                      return w.String(x, xp, &policy->analysis.refuse_at,
                                                      {"low", "medium", "high", "critical"});
                                    }}});
          }}});
  }}});
}

}  // namespace

// Sha256Hex(PolicyToYaml(Policy{})): the built-in policy's identity in reports and audit
// records. A constant because rendering YAML costs most of a millisecond of every start;
// unit/policy compares it with the rendering, so a change of defaults cannot slip past it.
constexpr char kDefaultPolicySha256[] =
    "7d80367d7ae31427aadc7a7f2f6d64a4aae83a64192304379cec31ff386ef2f4";

Policy DefaultPolicy() {
  Policy p;
  p.source = "<built-in>";
  p.sha256 = kDefaultPolicySha256;
  return p;
}

// profiles/<name>.yml, compiled in by embed_policy.py (src/policy/meson.build).
extern const char kContainerPolicyYaml[];
extern const char kContainerRestrictedPolicyYaml[];

namespace {

struct ShippedPolicy {
  std::string name;
  const char* yaml;
};

const std::vector<ShippedPolicy>& Shipped() {
  static const std::vector<ShippedPolicy> kShipped = {
      {"container", kContainerPolicyYaml},
      {"container-restricted", kContainerRestrictedPolicyYaml}};
  return kShipped;
}

}  // namespace

const std::vector<std::string>& ShippedContainerPolicyNames() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> names;
    for (const ShippedPolicy& p : Shipped()) names.push_back(p.name);
    return names;
  }();
  return kNames;
}

Result<Policy> ShippedContainerPolicy(const std::string& name) {
  for (const ShippedPolicy& p : Shipped()) {
    if (p.name == name) return ParsePolicy(p.yaml, "<built-in " + name + ">", "/");
  }
  return Error(Code::kNotFound,
               fmt::format("{} is not a policy shipped with hive-run (known: {})", Quoted(name),
                           fmt::join(ShippedContainerPolicyNames(), ", ")));
}

Result<Policy> ContainerPolicy() { return ShippedContainerPolicy("container"); }

Result<Policy> ParsePolicy(const std::string& text, const std::string& source,
                           const std::string& base_dir, PolicyOrigin origin) {
  Policy policy;
  policy.source = source;
  policy.sha256 = Sha256Hex(text);
  Walker walker(source, base_dir);
  // yaml-cpp's messages are fixed texts; some name a key, so they are cut like any token.
  auto yaml_error = [&](const YAML::Exception& e, const char* what) {
    std::string msg = e.msg.size() > 2 * kQuotedMax ? Quoted(e.msg) : e.msg;
    if (e.mark.line < 0) {
      return Error(Code::kInvalidArgument, fmt::format("{}: {}{}", source, what, msg));
    }
    return Error(Code::kInvalidArgument, fmt::format("{}:{}:{}: {}{}", source, e.mark.line + 1,
                                                     e.mark.column + 1, what, msg));
  };
  YAML::Node root;
  try {
    std::vector<YAML::Node> docs = YAML::LoadAll(text);
    if (docs.size() > 1) {
      // Reading only the first would silently drop whatever the later ones say.
      const YAML::Mark m = docs[1].Mark();
      return Error(Code::kInvalidArgument,
                   fmt::format("{}:{}: a policy is one YAML document, and a second one starts "
                               "here (merge them and remove the `---`)",
                               source, m.line >= 0 ? m.line + 1 : 1));
    }
    if (!docs.empty()) root = docs[0];
  } catch (const YAML::Exception& e) {
    return yaml_error(e, "invalid YAML: ");
  }
  try {
    HIVE_TRY(LoadRoot(walker, root, origin, &policy));
  } catch (const YAML::Exception& e) {
    return yaml_error(e, "");
  }
  return policy;
}

std::string RelativePathBase(const std::string& policy_dir) {
  // The seeds keep their policy in scripts/config/ and mean ./data of the project they are run
  // from: a policy below the working directory resolves against the working directory. A
  // policy anywhere else (/etc/hive-run/, beside a bundle) resolves against its own directory.
  const std::string cwd = AbsolutePath(".", "");
  if (cwd == "/" || policy_dir == cwd) return policy_dir;
  if (policy_dir.size() > cwd.size() && policy_dir.compare(0, cwd.size(), cwd) == 0 &&
      policy_dir[cwd.size()] == '/') {
    return cwd;
  }
  return policy_dir;
}

Result<Policy> LoadPolicyFile(const std::string& path) {
  auto text = ReadInputFile(path, kPolicyInput);
  if (!text.ok()) return text.status();
  std::string abs = AbsolutePath(path, "");
  std::string dir = abs.substr(0, abs.rfind('/')).empty() ? "/" : abs.substr(0, abs.rfind('/'));
  return ParsePolicy(*text, path, RelativePathBase(dir));
}

std::string PolicyToYaml(const Policy& p) {
  YAML::Emitter out;
  const ExecutionLimits& e = p.execution;
  out << YAML::BeginMap << YAML::Key << "security" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "execution" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "timeout_seconds" << YAML::Value << e.timeout_seconds;
  out << YAML::Key << "cpu_seconds" << YAML::Value << e.cpu_seconds;
  out << YAML::Key << "memory_mb" << YAML::Value << e.memory_mb;
  out << YAML::Key << "file_size_mb" << YAML::Value << e.file_size_mb;
  out << YAML::Key << "max_processes" << YAML::Value << e.max_processes;
  out << YAML::Key << "max_open_files" << YAML::Value << e.max_open_files;
  out << YAML::Key << "cpus" << YAML::Value << e.cpus;
  out << YAML::Key << "io" << YAML::Value << YAML::Flow << YAML::BeginMap << YAML::Key
      << "read_bps" << YAML::Value << e.io_read_bps << YAML::Key << "write_bps" << YAML::Value
      << e.io_write_bps << YAML::EndMap;
  out << YAML::Key << "tmp_size_mb" << YAML::Value << e.tmp_size_mb;
  out << YAML::Key << "require_limits" << YAML::Value << e.require_limits;
  out << YAML::EndMap;
  out << YAML::Key << "filesystem" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "allowed_paths" << YAML::Value << YAML::Flow << p.filesystem.allowed_paths;
  out << YAML::Key << "read_only_paths" << YAML::Value << YAML::Flow << p.filesystem.read_only_paths;
  out << YAML::Key << "blocked_operations" << YAML::Value << YAML::Flow
      << p.filesystem.blocked_operations;
  // Only when set: the built-in policy's rendering (and so its identity) stays as it was.
  if (p.filesystem.writable_rootfs) out << YAML::Key << "writable_rootfs" << YAML::Value << true;
  if (p.filesystem.engine_files_writable) {
    out << YAML::Key << "engine_files_writable" << YAML::Value << true;
  }
  out << YAML::EndMap;
  out << YAML::Key << "network" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "allowed_domains" << YAML::Value << YAML::Flow << p.network.allowed_domains;
  std::vector<int> ports(p.network.blocked_ports.begin(), p.network.blocked_ports.end());
  out << YAML::Key << "blocked_ports" << YAML::Value << YAML::Flow << ports;
  // The extensions appear once set, so that the built-in policy's rendering (and hash) stays.
  if (!p.network.allowed_ports.empty()) {
    std::vector<int> allowed(p.network.allowed_ports.begin(), p.network.allowed_ports.end());
    out << YAML::Key << "allowed_ports" << YAML::Value << YAML::Flow << allowed;
  }
  if (p.network.inspect_ports != NetworkPolicy{}.inspect_ports) {
    std::vector<int> inspect(p.network.inspect_ports.begin(), p.network.inspect_ports.end());
    out << YAML::Key << "inspect_ports" << YAML::Value << YAML::Flow << inspect;
  }
  if (!p.network.upstream_dns.empty()) {
    out << YAML::Key << "upstream_dns" << YAML::Value << YAML::Flow << p.network.upstream_dns;
  }
  out << YAML::EndMap;
  out << YAML::Key << "process" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "seccomp_profile" << YAML::Value << p.process.seccomp_profile;
  out << YAML::Key << "capabilities" << YAML::Value << YAML::Flow << p.process.capabilities;
  // Only when set: the built-in policy's rendering (and so its identity) stays as it was.
  if (p.process.allowed_binaries) {
    out << YAML::Key << "allowed_binaries" << YAML::Value << YAML::Flow
        << *p.process.allowed_binaries;
  }
  if (!p.process.tools_dirs.empty()) {
    out << YAML::Key << "tools_dirs" << YAML::Value << YAML::Flow << p.process.tools_dirs;
  }
  if (p.process.allow_oci_hooks) {
    out << YAML::Key << "allow_oci_hooks" << YAML::Value << true;
  }
  if (!p.process.host_namespaces.empty()) {
    out << YAML::Key << "host_namespaces" << YAML::Value << YAML::Flow
        << p.process.host_namespaces;
  }
  out << YAML::Key << "env" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "pass" << YAML::Value << YAML::Flow << p.process.env_pass;
  out << YAML::Key << "set" << YAML::Value << YAML::Flow << p.process.env_set;
  out << YAML::EndMap << YAML::EndMap;
  out << YAML::Key << "landlock" << YAML::Value << YAML::BeginMap << YAML::Key << "best_effort"
      << YAML::Value << p.landlock.best_effort << YAML::EndMap;
  const AlertThresholds& a = p.monitoring.alert_thresholds;
  out << YAML::Key << "monitoring" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "log_level" << YAML::Value << p.monitoring.log_level;
  out << YAML::Key << "alert_thresholds" << YAML::Value << YAML::Flow << YAML::BeginMap
      << YAML::Key << "cpu_usage" << YAML::Value << a.cpu_usage << YAML::Key << "memory_usage"
      << YAML::Value << a.memory_usage << YAML::Key << "execution_time" << YAML::Value
      << a.execution_time << YAML::EndMap;
  out << YAML::EndMap;
  out << YAML::Key << "audit" << YAML::Value << YAML::BeginMap << YAML::Key << "log"
      << YAML::Value << (p.audit.log.empty() ? "audit.log" : p.audit.log) << YAML::EndMap;
  out << YAML::Key << "analysis" << YAML::Value << YAML::BeginMap << YAML::Key << "refuse_at"
      << YAML::Value;
  if (p.analysis.refuse_at.empty()) {
    out << YAML::Null;
  } else {
    out << p.analysis.refuse_at;
  }
  out << YAML::EndMap;
  out << YAML::EndMap << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace hive
