// The OCI front end: config.json → RunSpec. Every type error names the JSON path
// ("process.args[2]"); a field hive-run cannot honour is kept in the spec for the supervisor to
// refuse by name (SupervisorRefusal), and unknown properties are ignored, as the spec requires.
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
#include "base/json_input.h"
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

Status ParseProcess(const Reader& r, const json& p, RunSpec* c) {
  HIVE_TRY(r.Object(p, "process"));
  ProcessSpec& proc = c->process;
  if (p.contains("terminal")) HIVE_TRY(r.Bool(p["terminal"], "process.terminal", &proc.terminal));
  if (p.contains("consoleSize")) {
    const json& cs = p["consoleSize"];
    HIVE_TRY(r.Object(cs, "process.consoleSize"));
    uint32_t v = 0;
    if (cs.contains("height")) {
      HIVE_TRY(r.U32(cs["height"], "process.consoleSize.height", &v, 65535));
      proc.console_height = static_cast<uint16_t>(v);
    }
    if (cs.contains("width")) {
      HIVE_TRY(r.U32(cs["width"], "process.consoleSize.width", &v, 65535));
      proc.console_width = static_cast<uint16_t>(v);
    }
  }
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
    if (u.contains("uid")) HIVE_TRY(r.U32(u["uid"], "process.user.uid", &proc.user.uid, kMaxId));
    if (u.contains("gid")) HIVE_TRY(r.U32(u["gid"], "process.user.gid", &proc.user.gid, kMaxId));
    if (u.contains("umask")) {
      uint32_t umask = 0;
      HIVE_TRY(r.U32(u["umask"], "process.user.umask", &umask, 0777));
      proc.user.umask = umask;
    }
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
        proc.user.additional_gids.push_back(v);
      }
    }
  }
  if (p.contains("noNewPrivileges")) {
    HIVE_TRY(r.Bool(p["noNewPrivileges"], "process.noNewPrivileges", &proc.no_new_privileges));
  }
  if (p.contains("capabilities")) {
    const json& caps = p["capabilities"];
    HIVE_TRY(r.Object(caps, "process.capabilities"));
    CapabilitySets& sets = proc.capabilities;
    for (auto [set, out] : {std::pair{"bounding", &sets.bounding},
                            std::pair{"effective", &sets.effective},
                            std::pair{"inheritable", &sets.inheritable},
                            std::pair{"permitted", &sets.permitted},
                            std::pair{"ambient", &sets.ambient}}) {
      if (!caps.contains(set)) continue;
      std::vector<std::string> names;
      std::string path = fmt::format("process.capabilities.{}", set);
      HIVE_TRY(r.StrList(caps[set], path, &names));
      for (size_t i = 0; i < names.size(); ++i) {
        const int cap = caps::FromName(names[i]);
        if (cap < 0) {
          return r.Fail(fmt::format("{}[{}]", path, i),
                        fmt::format("unknown capability {}", Quoted(names[i])));
        }
        if (std::find(out->begin(), out->end(), cap) == out->end()) out->push_back(cap);
      }
    }
  }
  // An LSM label hive-run would not apply: refused rather than dropped, since the engine set it
  // on a host whose LSM is enforcing (containerd and podman ask only then).
  for (const char* key : {"apparmorProfile", "selinuxLabel"}) {
    if (!p.contains(key) || p[key].is_null()) continue;
    std::string label;
    HIVE_TRY(r.Str(p[key], std::string("process.") + key, &label));
    if (label.empty() || label == "unconfined") continue;
    return r.Fail(std::string("process.") + key,
                  fmt::format("{}: hive-run does not apply {} labels (it confines with its user "
                              "namespace, Landlock and seccomp); on a host where the engine "
                              "sets one, turn it off for hive-run's containers (containerd's "
                              "CRI plugin: disable_apparmor / enable_selinux = false)",
                              Quoted(label), key[0] == 'a' ? "AppArmor" : "SELinux"));
  }
  if (p.contains("oomScoreAdj")) {
    int64_t v = 0;
    HIVE_TRY(r.I64(p["oomScoreAdj"], "process.oomScoreAdj", &v, 1000));
    if (v < -1000) return r.Fail("process.oomScoreAdj", fmt::format("{} is below -1000", v));
    proc.oom_score_adj = static_cast<int>(v);
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
      spec.resource = RlimitByName(type);
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

// The members of `j` (at `path`) must all be in `known`: any other is a limit hive-run would
// otherwise leave unenforced without a word.
Status OnlyKnown(const Reader& r, const json& j, const std::string& path,
                 std::initializer_list<const char*> known) {
  for (const auto& [key, value] : j.items()) {
    if (value.is_null()) continue;
    bool ok = false;
    for (const char* k : known) ok |= key == k;
    if (!ok) {
      return r.Fail(path + "." + key,
                    fmt::format("not supported by hive-run (it supports {})",
                                fmt::join(known, ", ")));
    }
  }
  return Ok();
}

Status ParseThrottle(const Reader& r, const json& j, const std::string& path,
                     std::vector<ThrottleDevice>* out) {
  if (!j.is_array()) return r.Fail(path, "expected an array, got " + Reader::Kind(j));
  for (size_t i = 0; i < j.size(); ++i) {
    const std::string p = fmt::format("{}[{}]", path, i);
    HIVE_TRY(r.Object(j[i], p));
    ThrottleDevice t;
    for (auto [key, field] : {std::pair{"major", &t.major}, std::pair{"minor", &t.minor}}) {
      if (!j[i].contains(key)) return r.Fail(p + "." + key, "missing");
      HIVE_TRY(r.I64(j[i][key], p + "." + key, field, INT32_MAX));
      if (*field < 0) return r.Fail(p + "." + key, "must not be negative");
    }
    if (!j[i].contains("rate")) return r.Fail(p + ".rate", "missing");
    HIVE_TRY(r.U64(j[i]["rate"], p + ".rate", &t.rate, 1, kMaxBytesPerSecond));
    out->push_back(t);
  }
  return Ok();
}

Status ParseResources(const Reader& r, const json& res, ResourcesSpec* out) {
  HIVE_TRY(r.Object(res, "linux.resources"));
  HIVE_TRY(OnlyKnown(r, res, "linux.resources",
                     {"memory", "pids", "cpu", "blockIO", "devices", "hugepageLimits"}));
  if (res.contains("hugepageLimits") && !res["hugepageLimits"].is_null()) {
    const json& h = res["hugepageLimits"];
    if (!h.is_array()) {
      return r.Fail("linux.resources.hugepageLimits", "expected an array, got " + Reader::Kind(h));
    }
    for (size_t i = 0; i < h.size(); ++i) {
      const std::string p = fmt::format("linux.resources.hugepageLimits[{}]", i);
      HIVE_TRY(r.Object(h[i], p));
      HIVE_TRY(OnlyKnown(r, h[i], p, {"pageSize", "limit"}));
      std::string size;
      if (!h[i].contains("pageSize")) return r.Fail(p + ".pageSize", "missing");
      HIVE_TRY(r.Str(h[i]["pageSize"], p + ".pageSize", &size));
      uint64_t limit = 0;
      if (!h[i].contains("limit")) return r.Fail(p + ".limit", "missing");
      HIVE_TRY(r.U64(h[i]["limit"], p + ".limit", &limit, 0, UINT64_MAX));
      // 0 is enforced by denying every way to hugetlb pages; an allowance would need the
      // hugetlb controller's accounting, which hive-run does not set up.
      if (limit != 0) {
        return r.Fail(p + ".limit",
                      fmt::format("{} bytes of {} pages: hive-run honours only 0 (no huge "
                                  "pages); it does not manage the hugetlb cgroup controller",
                                  limit, Quoted(size)));
      }
    }
    out->no_hugepages = !h.empty();
  }
  // A limit of 0 or less is "none" (OCI: -1), which leaves the policy's limit in place.
  if (res.contains("memory")) {
    const json& m = res["memory"];
    HIVE_TRY(r.Object(m, "linux.resources.memory"));
    HIVE_TRY(OnlyKnown(r, m, "linux.resources.memory", {"limit", "swap"}));
    for (auto [key, field] : {std::pair{"limit", &out->memory_limit},
                              std::pair{"swap", &out->memory_swap}}) {
      if (!m.contains(key)) continue;
      int64_t v = 0;
      HIVE_TRY(r.I64(m[key], std::string("linux.resources.memory.") + key, &v,
                     static_cast<int64_t>(kMaxMegabytes << 20)));
      if (v > 0) *field = v;
    }
  }
  if (res.contains("pids")) {
    HIVE_TRY(r.Object(res["pids"], "linux.resources.pids"));
    HIVE_TRY(OnlyKnown(r, res["pids"], "linux.resources.pids", {"limit"}));
    if (res["pids"].contains("limit")) {
      int64_t v = 0;
      HIVE_TRY(r.I64(res["pids"]["limit"], "linux.resources.pids.limit", &v,
                     static_cast<int64_t>(kMaxProcesses)));
      if (v > 0) out->pids_limit = v;
    }
  }
  if (res.contains("cpu")) {
    const json& cpu = res["cpu"];
    HIVE_TRY(r.Object(cpu, "linux.resources.cpu"));
    HIVE_TRY(OnlyKnown(r, cpu, "linux.resources.cpu", {"quota", "period", "shares"}));
    if (cpu.contains("shares")) {
      uint64_t shares = 0;
      HIVE_TRY(r.U64(cpu["shares"], "linux.resources.cpu.shares", &shares, 2, 262144));
      out->cpu_shares = shares;
    }
    if (cpu.contains("quota") && cpu.contains("period")) {
      int64_t quota = 0;
      uint64_t period = 0;
      HIVE_TRY(r.I64(cpu["quota"], "linux.resources.cpu.quota", &quota, INT64_MAX));
      // The kernel's CFS period is 1 ms..1 s.
      HIVE_TRY(r.U64(cpu["period"], "linux.resources.cpu.period", &period, 1000, 1000000));
      if (quota > 0) {
        const double cpus = static_cast<double>(quota) / static_cast<double>(period);
        if (cpus < kMinCpus || cpus > kMaxCpus) {
          return r.Fail("linux.resources.cpu.quota",
                        fmt::format("{} / period {} is {} CPUs, out of range ({}..{})", quota,
                                    period, cpus, kMinCpus, kMaxCpus));
        }
        out->cpu_quota = quota;
        out->cpu_period = period;
      }
    }
  }
  if (res.contains("blockIO")) {
    const json& b = res["blockIO"];
    HIVE_TRY(r.Object(b, "linux.resources.blockIO"));
    HIVE_TRY(OnlyKnown(r, b, "linux.resources.blockIO",
                       {"throttleReadBpsDevice", "throttleWriteBpsDevice"}));
    if (b.contains("throttleReadBpsDevice")) {
      HIVE_TRY(ParseThrottle(r, b["throttleReadBpsDevice"],
                             "linux.resources.blockIO.throttleReadBpsDevice", &out->read_bps));
    }
    if (b.contains("throttleWriteBpsDevice")) {
      HIVE_TRY(ParseThrottle(r, b["throttleWriteBpsDevice"],
                             "linux.resources.blockIO.throttleWriteBpsDevice", &out->write_bps));
    }
  }
  if (res.contains("devices")) {
    // Device cgroup rules: the sandbox's /dev is hive-run's own minimal set (null, zero,
    // full, random, urandom, tty, pts), it can create no device node (its user namespace
    // forbids mknod of devices) and every other mount is nodev. A rule that denies is thus
    // already in force, and one that allows grants nothing more (engines send allow rules
    // for exactly the standard nodes, and `m` for any): both are accepted as they are.
    const json& d = res["devices"];
    if (!d.is_array()) return r.Fail("linux.resources.devices", "expected an array");
    for (size_t i = 0; i < d.size(); ++i) {
      const std::string p = fmt::format("linux.resources.devices[{}]", i);
      HIVE_TRY(r.Object(d[i], p));
      bool allow = false;
      if (d[i].contains("allow")) HIVE_TRY(r.Bool(d[i]["allow"], p + ".allow", &allow));
    }
  }
  return Ok();
}

Status ParseLinux(const Reader& r, const json& l, RunSpec* c) {
  HIVE_TRY(r.Object(l, "linux"));
  if (l.contains("mountLabel") && !l["mountLabel"].is_null()) {
    std::string label;
    HIVE_TRY(r.Str(l["mountLabel"], "linux.mountLabel", &label));
    if (!label.empty()) {
      return r.Fail("linux.mountLabel",
                    fmt::format("{}: hive-run does not apply SELinux labels", Quoted(label)));
    }
  }
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
      NamespaceSpec n{type, ""};
      if (ns[i].contains("path")) HIVE_TRY(r.Str(ns[i]["path"], p + ".path", &n.path));
      c->linux.namespaces.push_back(n);
    }
  }
  if (l.contains("uidMappings")) {
    HIVE_TRY(ParseIdMappings(r, l["uidMappings"], "linux.uidMappings", &c->linux.uid_mappings));
  }
  if (l.contains("gidMappings")) {
    HIVE_TRY(ParseIdMappings(r, l["gidMappings"], "linux.gidMappings", &c->linux.gid_mappings));
  }
  if (l.contains("maskedPaths")) {
    HIVE_TRY(r.StrList(l["maskedPaths"], "linux.maskedPaths", &c->linux.masked_paths));
  }
  if (l.contains("readonlyPaths")) {
    HIVE_TRY(r.StrList(l["readonlyPaths"], "linux.readonlyPaths", &c->linux.readonly_paths));
  }
  if (l.contains("cgroupsPath")) {
    HIVE_TRY(r.Str(l["cgroupsPath"], "linux.cgroupsPath", &c->linux.cgroups_path));
  }
  if (l.contains("resources")) HIVE_TRY(ParseResources(r, l["resources"], &c->linux.resources));
  if (l.contains("sysctl")) {
    HIVE_TRY(r.Object(l["sysctl"], "linux.sysctl"));
    for (const auto& [k, v] : l["sysctl"].items()) {
      std::string value;
      HIVE_TRY(r.Str(v, "linux.sysctl." + k, &value));
      c->linux.sysctl[k] = value;
    }
  }
  if (l.contains("devices")) {
    const json& d = l["devices"];
    if (!d.is_array()) return r.Fail("linux.devices", "expected an array, got " + Reader::Kind(d));
    for (size_t i = 0; i < d.size(); ++i) {
      const std::string p = fmt::format("linux.devices[{}]", i);
      HIVE_TRY(r.Object(d[i], p));
      DeviceSpec dev;
      if (d[i].contains("type")) HIVE_TRY(r.Str(d[i]["type"], p + ".type", &dev.type));
      if (d[i].contains("path")) HIVE_TRY(r.Str(d[i]["path"], p + ".path", &dev.path));
      c->linux.devices.push_back(dev);
    }
  }
  // Compiled by the supervisor (seccomp::CompileOciProfile), beneath the policy's profile.
  if (l.contains("seccomp") && !l["seccomp"].is_null()) {
    HIVE_TRY(r.Object(l["seccomp"], "linux.seccomp"));
    c->linux.seccomp_inline = true;
    c->linux.seccomp_oci = l["seccomp"].dump();
  }
  if (l.contains("rootfsPropagation")) {
    HIVE_TRY(r.Str(l["rootfsPropagation"], "linux.rootfsPropagation",
                   &c->linux.rootfs_propagation));
  }
  return Ok();
}

Status ParseMounts(const Reader& r, const json& m, const std::string& bundle_dir, RunSpec* c) {
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
      else if (o == "noexec") ms.no_exec = true;
      else if (o == "exec") ms.no_exec = false;
      else if (o == "nosuid" || o == "nodev" || o == "relatime" || o == "strictatime" ||
               o == "private" || o == "rprivate" || o == "newinstance")
        continue;  // always applied (nosuid, nodev, private) or about atime only
      else if (o == "suid" || o == "dev") {
        // Asking for what hive-run always takes away: refused, not silently turned around.
        return r.Fail(p + ".options",
                      fmt::format("{}: hive-run mounts every filesystem nosuid and nodev",
                                  Quoted(o)));
      } else if (o == "slave" || o == "rslave" || o == "shared" || o == "rshared") {
        // The host's later mounts would show up inside (Kubernetes' mountPropagation
        // HostToContainer / Bidirectional); the sandbox's mounts are always private.
        return r.Fail(p + ".options",
                      fmt::format("{}: mount propagation is not supported; a sandbox's mounts "
                                  "are always private",
                                  Quoted(o)));
      } else data.push_back(o);
    }
    // A bind takes no filesystem data: an option left over is one hive-run does not apply
    // (rro, idmap, shared propagation, ...), refused rather than dropped.
    if (bind && !data.empty()) {
      return r.Fail(p + ".options", fmt::format("{} is not supported for a bind mount by "
                                                "hive-run",
                                                Quoted(data.front())));
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
      // The sandbox makes /proc and /dev/pts itself; a second procfs or devpts elsewhere is
      // not something it makes.
      if ((ms.type == "proc" && ms.destination != "/proc") ||
          (ms.type == "devpts" && ms.destination != "/dev/pts")) {
        return r.Fail(p + ".type",
                      fmt::format("a {} mount is supported only at `{}`, got destination {}",
                                  ms.type, ms.type == "proc" ? "/proc" : "/dev/pts",
                                  Quoted(ms.destination)));
      }
      // A cgroup mount is the container's own view of every hierarchy it is in, as the host
      // mounts them: a controller chosen in the options is not something hive-run selects.
      if ((ms.type == "cgroup" || ms.type == "cgroup2") && !data.empty()) {
        return r.Fail(p + ".options", fmt::format("{} is not supported for a {} mount by "
                                                  "hive-run",
                                                  Quoted(data.front()), ms.type));
      }
      std::string joined;
      for (const auto& d : data) joined += (joined.empty() ? "" : ",") + d;
      ms.data = joined;
    }
    ms.field = p;
    c->mounts.push_back(ms);
  }
  return Ok();
}

Status ParseHooks(const Reader& r, const json& h, HooksSpec* out) {
  HIVE_TRY(r.Object(h, "hooks"));
  for (auto [kind, list] : {std::pair{"prestart", &out->prestart},
                            std::pair{"createRuntime", &out->create_runtime},
                            std::pair{"createContainer", &out->create_container},
                            std::pair{"startContainer", &out->start_container},
                            std::pair{"poststart", &out->poststart},
                            std::pair{"poststop", &out->poststop}}) {
    if (!h.contains(kind)) continue;
    const json& hooks = h[kind];
    const std::string path = std::string("hooks.") + kind;
    if (!hooks.is_array()) return r.Fail(path, "expected an array, got " + Reader::Kind(hooks));
    for (size_t i = 0; i < hooks.size(); ++i) {
      const std::string p = fmt::format("{}[{}]", path, i);
      HIVE_TRY(r.Object(hooks[i], p));
      HookSpec hook;
      if (!hooks[i].contains("path")) return r.Fail(p + ".path", "missing");
      HIVE_TRY(r.Str(hooks[i]["path"], p + ".path", &hook.path));
      if (hooks[i].contains("args")) HIVE_TRY(r.StrList(hooks[i]["args"], p + ".args", &hook.args));
      if (hooks[i].contains("env")) HIVE_TRY(r.StrList(hooks[i]["env"], p + ".env", &hook.env));
      if (hooks[i].contains("timeout")) {
        uint64_t t = 0;
        HIVE_TRY(r.U64(hooks[i]["timeout"], p + ".timeout", &t, 1, kMaxSeconds));
        hook.timeout = static_cast<int>(t);
      }
      list->push_back(hook);
    }
  }
  return Ok();
}

}  // namespace

Result<ResourcesSpec> ParseResourcesUpdate(const std::string& json_text,
                                           const std::string& source) {
  HIVE_ASSIGN_OR_RETURN(json j, ParseJsonInput(json_text, source));
  Reader r(source);
  // What create reads as "no limit, the policy's applies" means something else here, where
  // there is no policy default to fall back on: refused by name rather than dropped.
  auto negative = [&](const char* group, const char* key) -> Status {
    if (!j.is_object() || !j.contains(group) || !j[group].is_object() ||
        !j[group].contains(key) || !j[group][key].is_number_integer() ||
        j[group][key].is_number_unsigned() || j[group][key].get<int64_t>() >= 0) {
      return Ok();
    }
    return r.Fail(fmt::format("linux.resources.{}.{}", group, key),
                  fmt::format("{}: lifting a limit is not supported by update; give the new "
                              "limit",
                              j[group][key].dump()));
  };
  HIVE_TRY(negative("memory", "limit"));
  HIVE_TRY(negative("memory", "swap"));
  HIVE_TRY(negative("pids", "limit"));
  HIVE_TRY(negative("cpu", "quota"));
  if (j.is_object() && j.contains("cpu") && j["cpu"].is_object()) {
    const json& cpu = j["cpu"];
    if (cpu.contains("shares") && !cpu["shares"].is_null()) {
      return r.Fail("linux.resources.cpu.shares", "not supported by update yet");
    }
    if (cpu.contains("quota") && !cpu["quota"].is_null() &&
        (!cpu.contains("period") || cpu["period"].is_null())) {
      return r.Fail("linux.resources.cpu.quota",
                    "give linux.resources.cpu.period with it (the quota is per period)");
    }
  }
  // Enforced by the seccomp filter loaded at create, which no update can change.
  if (j.is_object() && j.contains("hugepageLimits") && !j["hugepageLimits"].is_null()) {
    return r.Fail("linux.resources.hugepageLimits",
                  "not supported by update: hugetlb pages are decided at create");
  }
  ResourcesSpec out;
  HIVE_TRY(ParseResources(r, j, &out));
  return out;
}

Result<RunSpec> ParseOciConfig(const std::string& json_text, const std::string& source,
                               const std::string& bundle_dir) {
  HIVE_ASSIGN_OR_RETURN(json j, ParseJsonInput(json_text, source));
  Reader r(source);
  RunSpec c;
  // What config.json does not say is not asked for: no namespace, no capability.
  c.linux.namespaces.clear();
  c.root.readonly = false;
  if (!j.is_object()) return r.Fail("(root)", "expected an object, got " + Reader::Kind(j));
  if (j.contains("ociVersion")) HIVE_TRY(r.Str(j["ociVersion"], "ociVersion", &c.oci_version));
  if (!j.contains("process")) return r.Fail("process", "missing");
  HIVE_TRY(ParseProcess(r, j["process"], &c));
  if (!j.contains("root")) return r.Fail("root", "missing");
  HIVE_TRY(r.Object(j["root"], "root"));
  if (!j["root"].contains("path")) return r.Fail("root.path", "missing");
  HIVE_TRY(r.Str(j["root"]["path"], "root.path", &c.root.path));
  c.root.path = AbsolutePath(c.root.path, bundle_dir);
  if (j["root"].contains("readonly")) {
    HIVE_TRY(r.Bool(j["root"]["readonly"], "root.readonly", &c.root.readonly));
  }
  c.hostname.clear();
  if (j.contains("hostname")) HIVE_TRY(r.Str(j["hostname"], "hostname", &c.hostname));
  if (j.contains("hooks") && !j["hooks"].is_null()) HIVE_TRY(ParseHooks(r, j["hooks"], &c.hooks));
  if (j.contains("annotations")) {
    HIVE_TRY(r.Object(j["annotations"], "annotations"));
    for (const auto& [k, v] : j["annotations"].items()) {
      std::string value;
      HIVE_TRY(r.Str(v, "annotations." + k, &value));
      c.annotations[k] = value;
    }
  }
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
  if (::stat(b.config.root.path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Error(Code::kNotFound,
                 fmt::format("{}: root.path: rootfs `{}` is not a directory", config_path,
                             b.config.root.path));
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
