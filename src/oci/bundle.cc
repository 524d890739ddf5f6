// config.json → OciConfig. Every type error names the JSON path ("process.args[2]").
#include "hive/bundle.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <fmt/format.h>

#include "base/files.h"
#include "base/unique_fd.h"
#include "base/user_text.h"
#include "hive/state_dir.h"
#include "oci/json_input.h"
#include "sandbox/capabilities.h"
#include "sandbox/seccomp/seccomp.h"

namespace hive {
namespace {

using nlohmann::json;

class Reader {
 public:
  explicit Reader(std::string source) : source_(std::move(source)) {}

  Status Fail(const std::string& path, const std::string& what) const {
    return Error(Code::kInvalidArgument, fmt::format("{}: {}: {}", source_, path, what));
  }

  static std::string Kind(const json& j) { return j.type_name(); }
  // A value as the message shows it: a number as written, anything else by its type, so that a
  // message never carries a whole object or a long string from the file.
  static std::string Shown(const json& j) {
    if (j.is_number()) return j.dump();
    if (j.is_string()) return Quoted(j.get_ref<const std::string&>());
    return Kind(j);
  }

  Status Str(const json& j, const std::string& path, std::string* out) const {
    if (!j.is_string()) return Fail(path, "expected a string, got " + Kind(j));
    *out = j.get<std::string>();
    return Ok();
  }
  Status Bool(const json& j, const std::string& path, bool* out) const {
    if (!j.is_boolean()) return Fail(path, "expected a boolean, got " + Shown(j));
    *out = j.get<bool>();
    return Ok();
  }
  // An integer in min..max; JSON numbers past 2^64 or with a fraction are not integers.
  Status U64(const json& j, const std::string& path, uint64_t* out, uint64_t min,
             uint64_t max) const {
    if (j.is_number_integer() && !j.is_number_unsigned()) {
      return Fail(path, fmt::format("{} is out of range ({}..{})", j.dump(), min, max));
    }
    if (!j.is_number_unsigned()) return Fail(path, "expected an unsigned integer, got " + Shown(j));
    const uint64_t v = j.get<uint64_t>();
    if (v < min || v > max) {
      return Fail(path, fmt::format("{} is out of range ({}..{})", v, min, max));
    }
    *out = v;
    return Ok();
  }
  Status U32(const json& j, const std::string& path, uint32_t* out, uint32_t max) const {
    uint64_t v = 0;
    HIVE_TRY(U64(j, path, &v, 0, max));
    *out = static_cast<uint32_t>(v);
    return Ok();
  }
  // Any integer up to `max`; negative ones mean "no limit" to the OCI fields read with it.
  Status I64(const json& j, const std::string& path, int64_t* out, int64_t max) const {
    if (!j.is_number_integer()) return Fail(path, "expected an integer, got " + Shown(j));
    if (j.is_number_unsigned() ? j.get<uint64_t>() > static_cast<uint64_t>(max)
                               : j.get<int64_t>() > max) {
      return Fail(path, fmt::format("{} is out of range (at most {})", j.dump(), max));
    }
    *out = j.get<int64_t>();
    return Ok();
  }
  Status StrList(const json& j, const std::string& path, std::vector<std::string>* out) const {
    if (!j.is_array()) return Fail(path, "expected an array, got " + Kind(j));
    out->clear();
    for (size_t i = 0; i < j.size(); ++i) {
      std::string s;
      HIVE_TRY(Str(j[i], fmt::format("{}[{}]", path, i), &s));
      out->push_back(s);
    }
    return Ok();
  }
  Status Object(const json& j, const std::string& path) const {
    if (!j.is_object()) return Fail(path, "expected an object, got " + Kind(j));
    return Ok();
  }

 private:
  std::string source_;
};

constexpr size_t kMaxGroups = 65536;  // NGROUPS_MAX

const std::pair<const char*, int> kRlimits[] = {
    {"RLIMIT_AS", RLIMIT_AS},         {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},       {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},   {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},   {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
};

Status ParseProcess(const Reader& r, const json& p, OciConfig* c) {
  HIVE_TRY(r.Object(p, "process"));
  ProcessSpec& proc = c->process;
  if (p.contains("terminal")) HIVE_TRY(r.Bool(p["terminal"], "process.terminal", &proc.terminal));
  if (!p.contains("args")) return r.Fail("process.args", "missing");
  HIVE_TRY(r.StrList(p["args"], "process.args", &proc.args));
  if (proc.args.empty()) return r.Fail("process.args", "must not be empty");
  if (p.contains("env")) HIVE_TRY(r.StrList(p["env"], "process.env", &proc.env));
  for (size_t i = 0; i < proc.env.size(); ++i) {
    if (proc.env[i].find('=') == std::string::npos || proc.env[i][0] == '=') {
      return r.Fail(fmt::format("process.env[{}]", i),
                    fmt::format("expected NAME=VALUE, got {}", Quoted(proc.env[i])));
    }
  }
  if (p.contains("cwd")) {
    HIVE_TRY(r.Str(p["cwd"], "process.cwd", &proc.cwd));
    if (proc.cwd.empty() || proc.cwd[0] != '/') {
      return r.Fail("process.cwd", fmt::format("must be absolute, got {}", Quoted(proc.cwd)));
    }
  }
  if (p.contains("user")) {
    const json& u = p["user"];
    HIVE_TRY(r.Object(u, "process.user"));
    if (u.contains("uid")) HIVE_TRY(r.U32(u["uid"], "process.user.uid", &proc.uid, kMaxId));
    if (u.contains("gid")) HIVE_TRY(r.U32(u["gid"], "process.user.gid", &proc.gid, kMaxId));
    if (u.contains("additionalGids")) {
      const json& g = u["additionalGids"];
      if (!g.is_array()) return r.Fail("process.user.additionalGids", "expected an array");
      if (g.size() > kMaxGroups) {
        return r.Fail("process.user.additionalGids",
                      fmt::format("{} groups, more than the kernel's {}", g.size(), kMaxGroups));
      }
      for (size_t i = 0; i < g.size(); ++i) {
        uint32_t v = 0;
        HIVE_TRY(r.U32(g[i], fmt::format("process.user.additionalGids[{}]", i), &v, kMaxId));
        proc.additional_gids.push_back(v);
      }
    }
  }
  if (p.contains("noNewPrivileges")) {
    HIVE_TRY(r.Bool(p["noNewPrivileges"], "process.noNewPrivileges", &proc.no_new_privileges));
  }
  if (p.contains("capabilities")) {
    const json& caps = p["capabilities"];
    HIVE_TRY(r.Object(caps, "process.capabilities"));
    for (const char* set : {"bounding", "effective", "inheritable", "permitted", "ambient"}) {
      if (!caps.contains(set)) continue;
      std::vector<std::string> names;
      std::string path = fmt::format("process.capabilities.{}", set);
      HIVE_TRY(r.StrList(caps[set], path, &names));
      for (size_t i = 0; i < names.size(); ++i) {
        if (caps::FromName(names[i]) < 0) {
          return r.Fail(fmt::format("{}[{}]", path, i),
                        fmt::format("unknown capability {}", Quoted(names[i])));
        }
        if (std::find(c->capability_names.begin(), c->capability_names.end(), names[i]) ==
            c->capability_names.end()) {
          c->capability_names.push_back(names[i]);
        }
      }
    }
  }
  if (p.contains("rlimits")) {
    const json& rl = p["rlimits"];
    if (!rl.is_array()) return r.Fail("process.rlimits", "expected an array, got " + Reader::Kind(rl));
    for (size_t i = 0; i < rl.size(); ++i) {
      std::string path = fmt::format("process.rlimits[{}]", i);
      HIVE_TRY(r.Object(rl[i], path));
      std::string type;
      if (!rl[i].contains("type")) return r.Fail(path + ".type", "missing");
      HIVE_TRY(r.Str(rl[i]["type"], path + ".type", &type));
      RlimitSpec spec;
      spec.resource = -1;
      for (const auto& [name, res] : kRlimits) {
        if (type == name) spec.resource = res;
      }
      if (spec.resource < 0) {
        return r.Fail(path + ".type", fmt::format("unknown rlimit {}", Quoted(type)));
      }
      // Any 64-bit value: the largest is RLIM_INFINITY.
      for (auto [k, field] : {std::pair{"soft", &spec.soft}, std::pair{"hard", &spec.hard}}) {
        if (!rl[i].contains(k)) return r.Fail(fmt::format("{}.{}", path, k), "missing");
        HIVE_TRY(r.U64(rl[i][k], fmt::format("{}.{}", path, k), field, 0, UINT64_MAX));
      }
      if (spec.soft > spec.hard) return r.Fail(path, "soft is greater than hard");
      proc.rlimits.push_back(spec);
    }
  }
  return Ok();
}

Status ParseIdMappings(const Reader& r, const json& j, const std::string& path,
                       std::vector<IdMapping>* out) {
  if (!j.is_array()) return r.Fail(path, "expected an array, got " + Reader::Kind(j));
  for (size_t i = 0; i < j.size(); ++i) {
    std::string p = fmt::format("{}[{}]", path, i);
    HIVE_TRY(r.Object(j[i], p));
    IdMapping m;
    for (auto [key, field] : {std::pair{"containerID", &m.container_id},
                              std::pair{"hostID", &m.host_id}, std::pair{"size", &m.size}}) {
      if (!j[i].contains(key)) return r.Fail(p + "." + key, "missing");
      HIVE_TRY(r.U32(j[i][key], p + "." + key, field, kMaxId));
    }
    // The kernel's id ranges end below 2^32 - 1 (which is "no id"); a range past it would wrap.
    const uint64_t first = std::max(m.container_id, m.host_id);
    if (m.size == 0 || first + m.size > uint64_t{kMaxId} + 1) {
      return r.Fail(p + ".size", fmt::format("{} is out of range (1..{} from id {})", m.size,
                                             uint64_t{kMaxId} + 1 - first, first));
    }
    out->push_back(m);
  }
  return Ok();
}

Status ParseLinux(const Reader& r, const json& l, OciConfig* c) {
  HIVE_TRY(r.Object(l, "linux"));
  static const std::vector<std::string> kNamespaces = {"pid", "network", "mount", "ipc",
                                                       "uts", "user",    "cgroup", "time"};
  if (l.contains("namespaces")) {
    const json& ns = l["namespaces"];
    if (!ns.is_array()) return r.Fail("linux.namespaces", "expected an array");
    for (size_t i = 0; i < ns.size(); ++i) {
      std::string p = fmt::format("linux.namespaces[{}]", i);
      HIVE_TRY(r.Object(ns[i], p));
      std::string type;
      if (!ns[i].contains("type")) return r.Fail(p + ".type", "missing");
      HIVE_TRY(r.Str(ns[i]["type"], p + ".type", &type));
      if (std::find(kNamespaces.begin(), kNamespaces.end(), type) == kNamespaces.end()) {
        return r.Fail(p + ".type", fmt::format("unknown namespace type {}", Quoted(type)));
      }
      if (ns[i].contains("path")) {
        // Joining another process's namespace would share its isolation (or lack of it).
        return r.Fail(p + ".path", "joining an existing namespace is not supported");
      }
      c->namespaces.push_back(type);
    }
  }
  if (l.contains("uidMappings")) {
    HIVE_TRY(ParseIdMappings(r, l["uidMappings"], "linux.uidMappings", &c->uid_mappings));
  }
  if (l.contains("gidMappings")) {
    HIVE_TRY(ParseIdMappings(r, l["gidMappings"], "linux.gidMappings", &c->gid_mappings));
  }
  if (l.contains("maskedPaths")) {
    HIVE_TRY(r.StrList(l["maskedPaths"], "linux.maskedPaths", &c->masked_paths));
  }
  if (l.contains("readonlyPaths")) {
    HIVE_TRY(r.StrList(l["readonlyPaths"], "linux.readonlyPaths", &c->readonly_paths));
  }
  if (l.contains("cgroupsPath")) {
    HIVE_TRY(r.Str(l["cgroupsPath"], "linux.cgroupsPath", &c->cgroups_path));
  }
  if (l.contains("resources")) {
    const json& res = l["resources"];
    HIVE_TRY(r.Object(res, "linux.resources"));
    // A limit of 0 or less is "none" (OCI: -1), which leaves the policy's limit in place.
    if (res.contains("memory") && res["memory"].contains("limit")) {
      int64_t v = 0;
      HIVE_TRY(r.I64(res["memory"]["limit"], "linux.resources.memory.limit", &v,
                     static_cast<int64_t>(kMaxMegabytes << 20)));
      if (v > 0) c->memory_limit = v;
    }
    if (res.contains("pids") && res["pids"].contains("limit")) {
      int64_t v = 0;
      HIVE_TRY(r.I64(res["pids"]["limit"], "linux.resources.pids.limit", &v,
                     static_cast<int64_t>(kMaxProcesses)));
      if (v > 0) c->pids_limit = v;
    }
    if (res.contains("cpu") && res["cpu"].contains("quota") && res["cpu"].contains("period")) {
      int64_t quota = 0;
      uint64_t period = 0;
      HIVE_TRY(r.I64(res["cpu"]["quota"], "linux.resources.cpu.quota", &quota, INT64_MAX));
      // The kernel's CFS period is 1 ms..1 s.
      HIVE_TRY(r.U64(res["cpu"]["period"], "linux.resources.cpu.period", &period, 1000, 1000000));
      if (quota > 0) {
        const double cpus = static_cast<double>(quota) / static_cast<double>(period);
        if (cpus < kMinCpus || cpus > kMaxCpus) {
          return r.Fail("linux.resources.cpu.quota",
                        fmt::format("{} / period {} is {} CPUs, out of range ({}..{})", quota,
                                    period, cpus, kMinCpus, kMaxCpus));
        }
        c->cpus = cpus;
      }
    }
  }
  return Ok();
}

Status ParseMounts(const Reader& r, const json& m, const std::string& bundle_dir, OciConfig* c) {
  if (!m.is_array()) return r.Fail("mounts", "expected an array, got " + Reader::Kind(m));
  for (size_t i = 0; i < m.size(); ++i) {
    std::string p = fmt::format("mounts[{}]", i);
    HIVE_TRY(r.Object(m[i], p));
    MountSpec ms;
    if (!m[i].contains("destination")) return r.Fail(p + ".destination", "missing");
    HIVE_TRY(r.Str(m[i]["destination"], p + ".destination", &ms.destination));
    if (ms.destination.empty() || ms.destination[0] != '/') {
      return r.Fail(p + ".destination",
                    fmt::format("must be absolute, got {}", Quoted(ms.destination)));
    }
    ms.destination = AbsolutePath(ms.destination, "/");
    if (m[i].contains("type")) HIVE_TRY(r.Str(m[i]["type"], p + ".type", &ms.type));
    if (m[i].contains("source")) HIVE_TRY(r.Str(m[i]["source"], p + ".source", &ms.source));
    if (m[i].contains("options")) HIVE_TRY(r.StrList(m[i]["options"], p + ".options", &ms.options));
    bool bind = ms.type == "bind" || ms.type == "rbind";
    std::vector<std::string> data;
    ms.read_only = false;
    for (const std::string& o : ms.options) {
      if (o == "bind" || o == "rbind") bind = true;
      else if (o == "ro") ms.read_only = true;
      else if (o == "rw") ms.read_only = false;
      else if (o == "nosuid" || o == "nodev" || o == "noexec" || o == "relatime" ||
               o == "strictatime" || o == "private" || o == "rprivate" || o == "slave" ||
               o == "rslave" || o == "newinstance")
        continue;  // always applied (nosuid, nodev) or irrelevant in a private mount namespace
      else data.push_back(o);
    }
    if (bind) {
      ms.type = "bind";
      if (ms.source.empty()) return r.Fail(p + ".source", "a bind mount needs a source");
      ms.source = AbsolutePath(ms.source, bundle_dir);
    } else {
      static const std::vector<std::string> kTypes = {"proc", "tmpfs", "sysfs", "devpts",
                                                      "mqueue", "cgroup", "cgroup2"};
      if (std::find(kTypes.begin(), kTypes.end(), ms.type) == kTypes.end()) {
        return r.Fail(p + ".type", fmt::format("unsupported mount type {}", Quoted(ms.type)));
      }
      std::string joined;
      for (const auto& d : data) joined += (joined.empty() ? "" : ",") + d;
      ms.data = joined;
    }
    c->mounts.push_back(ms);
  }
  return Ok();
}

}  // namespace

Result<OciConfig> ParseOciConfig(const std::string& json_text, const std::string& source,
                                 const std::string& bundle_dir) {
  HIVE_ASSIGN_OR_RETURN(json j, ParseJsonInput(json_text, source));
  Reader r(source);
  OciConfig c;
  if (!j.is_object()) return r.Fail("(root)", "expected an object, got " + Reader::Kind(j));
  if (j.contains("ociVersion")) HIVE_TRY(r.Str(j["ociVersion"], "ociVersion", &c.oci_version));
  if (!j.contains("process")) return r.Fail("process", "missing");
  HIVE_TRY(ParseProcess(r, j["process"], &c));
  if (!j.contains("root")) return r.Fail("root", "missing");
  HIVE_TRY(r.Object(j["root"], "root"));
  if (!j["root"].contains("path")) return r.Fail("root.path", "missing");
  HIVE_TRY(r.Str(j["root"]["path"], "root.path", &c.root_path));
  c.root_path = AbsolutePath(c.root_path, bundle_dir);
  if (j["root"].contains("readonly")) {
    HIVE_TRY(r.Bool(j["root"]["readonly"], "root.readonly", &c.root_readonly));
  }
  if (j.contains("hostname")) HIVE_TRY(r.Str(j["hostname"], "hostname", &c.hostname));
  if (j.contains("mounts")) HIVE_TRY(ParseMounts(r, j["mounts"], bundle_dir, &c));
  if (j.contains("linux")) HIVE_TRY(ParseLinux(r, j["linux"], &c));
  return c;
}

Result<Bundle> LoadBundle(const std::string& dir) {
  Bundle b;
  b.dir = AbsolutePath(dir, "");
  // The files are opened relative to the directory and may not lead out of it: whoever wrote
  // the bundle must not make hive-run read, and quote in an error, a file elsewhere.
  UniqueFd dir_fd(::open(b.dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.valid()) {
    return Error(Code::kNotFound, fmt::format("bundle `{}`: not a directory", b.dir));
  }
  std::string config_path = b.dir + "/config.json";
  auto text = ReadInputFileBeneath(dir_fd.get(), b.dir, "config.json", kBundleConfigInput);
  if (!text.ok()) return text.status().Wrap(fmt::format("bundle `{}`", b.dir));
  HIVE_ASSIGN_OR_RETURN(b.config, ParseOciConfig(*text, config_path, b.dir));
  struct stat st;
  if (::stat(b.config.root_path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error(Code::kNotFound,
                 fmt::format("{}: root.path: rootfs `{}` is not a directory", config_path,
                             b.config.root_path));
  }
  auto policy = ReadInputFileBeneath(dir_fd.get(), b.dir, "policy.yml", kPolicyInput);
  if (policy.ok()) {
    b.policy_path = b.dir + "/policy.yml";
    b.policy_text = std::move(policy).value();
  } else if (policy.status().code() != Code::kNotFound) {
    return policy.status().Wrap(fmt::format("bundle `{}`", b.dir));
  }
  return b;
}

Result<Policy> LoadBundlePolicy(const Bundle& bundle) {
  if (!bundle.policy_text) return DefaultPolicy();
  HIVE_ASSIGN_OR_RETURN(Policy policy, ParsePolicy(*bundle.policy_text, bundle.policy_path,
                                                   bundle.dir, PolicyOrigin::kBundle));
  // A seccomp profile the policy names by a relative path is a bundle file like policy.yml: it
  // may not lead outside the bundle. The run then reads the file this resolved to.
  std::string& profile = policy.process.seccomp_profile;
  if (seccomp::IsPathLike(profile) && profile[0] != '/') {
    UniqueFd dir_fd(::open(bundle.dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir_fd.valid()) return Errno(fmt::format("bundle `{}`", bundle.dir));
    auto fd = OpenInputFileBeneath(dir_fd.get(), bundle.dir, profile, kSeccompProfileInput);
    if (!fd.ok()) {
      return fd.status().Wrap(
          fmt::format("{}: security.process.seccomp_profile", bundle.policy_path));
    }
    char resolved[PATH_MAX];
    const std::string link = fmt::format("/proc/self/fd/{}", fd->get());
    const ssize_t n = ::readlink(link.c_str(), resolved, sizeof resolved - 1);
    if (n <= 0) return Errno(fmt::format("readlink `{}`", link));
    profile.assign(resolved, static_cast<size_t>(n));
  }
  return policy;
}

}  // namespace hive
