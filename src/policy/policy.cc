// The policy loader: YAML → Policy, one function per section, every error with file:line:col
// and the key path. yaml-cpp exceptions stop here.
#include "hive/policy.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "base/files.h"
#include "hive/state_dir.h"

namespace hive {
namespace {

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
    if (n.IsScalar()) return fmt::format("\"{}\"", n.Scalar());
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
      const std::string sub = path.empty() ? key : path + "." + key;
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

  Status UInt(const YAML::Node& n, const std::string& path, uint64_t* out, uint64_t min,
              uint64_t max) const {
    if (!n.IsScalar()) return Fail(n, path, "expected an integer, got " + Shown(n));
    const std::string& s = n.Scalar();
    uint64_t v = 0;
    bool okay = !s.empty() && s.size() < 20;
    for (char c : s) okay = okay && c >= '0' && c <= '9';
    if (okay) v = std::stoull(s);
    if (!okay) {
      return Fail(n, path,
                  fmt::format("expected {} integer, got {}", min > 0 ? "a positive" : "a non-negative",
                              Shown(n)));
    }
    if (v < min || v > max) {
      return Fail(n, path, fmt::format("{} is out of range ({}..{})", v, min, max));
    }
    *out = v;
    return Ok();
  }

  Status Number(const YAML::Node& n, const std::string& path, double* out, double min,
                double max) const {
    if (!n.IsScalar()) return Fail(n, path, "expected a number, got " + Shown(n));
    const std::string& s = n.Scalar();
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(s, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != s.size() || !std::isfinite(v)) {
      return Fail(n, path, "expected a number, got " + Shown(n));
    }
    if (v < min || v > max) return Fail(n, path, fmt::format("{} is out of range ({}..{})", s, min, max));
    *out = v;
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

const std::vector<std::string> kBlockedOperations = {"delete", "chmod", "chown",  "rename",
                                                     "link",   "mknod", "truncate", "xattr"};

Status LoadExecution(const Walker& w, const YAML::Node& n, const std::string& p,
                     ExecutionLimits* e) {
  constexpr uint64_t kMax = 1ull << 40;
  auto u = [&](uint64_t* out, uint64_t min) {
    return [&w, out, min](const YAML::Node& v, const std::string& path) {
      return w.UInt(v, path, out, min, kMax);
    };
  };
  std::vector<Field> fields = {
      {"timeout_seconds",
       [&](const YAML::Node& v, const std::string& path) {
         return w.Number(v, path, &e->timeout_seconds, 0, 31536000);
       }},
      {"cpu_seconds", u(&e->cpu_seconds, 0)},
      {"memory_mb", u(&e->memory_mb, 0)},
      {"file_size_mb", u(&e->file_size_mb, 0)},
      {"max_processes", u(&e->max_processes, 0)},
      {"max_open_files", u(&e->max_open_files, 3)},
      {"tmp_size_mb", u(&e->tmp_size_mb, 1)},
      {"cpus",
       [&](const YAML::Node& v, const std::string& path) {
         return w.Number(v, path, &e->cpus, 0, 4096);
       }},
      {"io",
       [&](const YAML::Node& v, const std::string& path) {
         return w.Map(v, path, {{"read_bps", u(&e->io_read_bps, 0)},
                                {"write_bps", u(&e->io_write_bps, 0)}});
       }},
      {"require_limits",
       [&](const YAML::Node& v, const std::string& path) {
         return w.Bool(v, path, &e->require_limits);
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
                {"blocked_operations", [&](const YAML::Node& v, const std::string& path) {
                   return w.StringList(v, path, &f->blocked_operations, kBlockedOperations);
                 }}});
}

Status LoadNetwork(const Walker& w, const YAML::Node& n, const std::string& p, NetworkPolicy* net) {
  return w.Map(
      n, p,
      {{"allowed_domains",
        [&](const YAML::Node& v, const std::string& path) {
          HIVE_TRY(w.StringList(v, path, &net->allowed_domains));
          if (!net->allowed_domains.empty()) {
            // Per-domain egress filtering needs a proxy hive-run does not have; refusing is
            // better than silently granting the whole network.
            return w.Fail(v, path,
                          "per-domain network access is not supported yet; use [] (no network)");
          }
          return Ok();
        }},
       {"blocked_ports", [&](const YAML::Node& v, const std::string& path) {
          if (v.IsNull()) return Ok();
          if (!v.IsSequence()) return w.Fail(v, path, "expected a list, got " + Walker::Shown(v));
          net->blocked_ports.clear();
          for (size_t i = 0; i < v.size(); ++i) {
            uint64_t port = 0;
            HIVE_TRY(w.UInt(v[i], fmt::format("{}[{}]", path, i), &port, 1, 65535));
            net->blocked_ports.push_back(static_cast<uint16_t>(port));
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
                            "expected a capability name like CAP_NET_BIND_SERVICE, got \"" +
                                pr->capabilities[i] + "\"");
            }
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
                             HIVE_TRY(w.String(kv.second, xp + "." + kv.first.Scalar(), &val));
                             const std::string& k = kv.first.Scalar();
                             if (k.empty() || k.find('=') != std::string::npos) {
                               return w.Fail(kv.first, xp, "bad variable name \"" + k + "\"");
                             }
                             pr->env_set[k] = val;
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

Status LoadRoot(const Walker& w, const YAML::Node& root, Policy* policy) {
  if (root.IsNull()) return Ok();  // an empty file is the default policy
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
    "a140ca15534f2666ed965e16693c9c5212e33dc30d2a1fb204a05bc40681a384";

Policy DefaultPolicy() {
  Policy p;
  p.source = "<built-in>";
  p.sha256 = kDefaultPolicySha256;
  return p;
}

Result<Policy> ParsePolicy(const std::string& text, const std::string& source,
                           const std::string& base_dir) {
  Policy policy;
  policy.source = source;
  policy.sha256 = Sha256Hex(text);
  Walker walker(source, base_dir);
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return Error(Code::kInvalidArgument, fmt::format("{}:{}:{}: invalid YAML: {}", source,
                                                     e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  try {
    HIVE_TRY(LoadRoot(walker, root, &policy));
  } catch (const YAML::Exception& e) {
    return Error(Code::kInvalidArgument, fmt::format("{}:{}:{}: {}", source, e.mark.line + 1,
                                                     e.mark.column + 1, e.msg));
  }
  return policy;
}

Result<Policy> LoadPolicyFile(const std::string& path) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status().Wrap("load policy");
  std::string abs = AbsolutePath(path, "");
  return ParsePolicy(*text, path, abs.substr(0, abs.rfind('/')).empty() ? "/" : abs.substr(0, abs.rfind('/')));
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
  out << YAML::EndMap;
  out << YAML::Key << "network" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "allowed_domains" << YAML::Value << YAML::Flow << p.network.allowed_domains;
  std::vector<int> ports(p.network.blocked_ports.begin(), p.network.blocked_ports.end());
  out << YAML::Key << "blocked_ports" << YAML::Value << YAML::Flow << ports;
  out << YAML::EndMap;
  out << YAML::Key << "process" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "seccomp_profile" << YAML::Value << p.process.seccomp_profile;
  out << YAML::Key << "capabilities" << YAML::Value << YAML::Flow << p.process.capabilities;
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
