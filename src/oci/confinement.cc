#include "oci/confinement.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/files.h"
#include "oci/state.h"

namespace hive::oci {
namespace {

using nlohmann::json;

constexpr const char* kFile = "confinement.json";

// A BPF program as the hex of its bytes: compact, and read back instruction for instruction.
std::string Hex(const std::vector<sock_filter>& prog) {
  static const char kDigits[] = "0123456789abcdef";
  const auto* bytes = reinterpret_cast<const unsigned char*>(prog.data());
  std::string out;
  out.reserve(prog.size() * sizeof(sock_filter) * 2);
  for (size_t i = 0; i < prog.size() * sizeof(sock_filter); ++i) {
    out += kDigits[bytes[i] >> 4];
    out += kDigits[bytes[i] & 15];
  }
  return out;
}

bool Unhex(const std::string& text, std::vector<sock_filter>* prog) {
  if (text.size() % (2 * sizeof(sock_filter)) != 0) return false;
  prog->assign(text.size() / (2 * sizeof(sock_filter)), sock_filter{});
  auto* bytes = reinterpret_cast<unsigned char*>(prog->data());
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (size_t i = 0; i < text.size(); i += 2) {
    const int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes[i / 2] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

json ProcessJson(const ProcessSpec& p) {
  json rl = json::array();
  for (const RlimitSpec& r : p.rlimits) rl.push_back({r.resource, r.soft, r.hard});
  const CapabilitySets& c = p.capabilities;
  json user = {
      {"uid", p.user.uid}, {"gid", p.user.gid}, {"additional_gids", p.user.additional_gids}};
  if (p.user.umask) user["umask"] = *p.user.umask;
  json out = {{"args", p.args},
              {"env", p.env},
              {"cwd", p.cwd},
              {"user", user},
              {"capabilities",
               {{"bounding", c.bounding},
                {"effective", c.effective},
                {"inheritable", c.inheritable},
                {"permitted", c.permitted},
                {"ambient", c.ambient}}},
              {"rlimits", rl},
              {"no_new_privileges", p.no_new_privileges}};
  if (p.oom_score_adj) out["oom_score_adj"] = *p.oom_score_adj;
  return out;
}

ProcessSpec ProcessFrom(const json& j) {
  ProcessSpec p;
  p.args = j.at("args").get<std::vector<std::string>>();
  p.env = j.at("env").get<std::vector<std::string>>();
  p.cwd = j.at("cwd").get<std::string>();
  const json& u = j.at("user");
  p.user.uid = u.at("uid").get<uint32_t>();
  p.user.gid = u.at("gid").get<uint32_t>();
  p.user.additional_gids = u.at("additional_gids").get<std::vector<uint32_t>>();
  if (u.contains("umask")) p.user.umask = u["umask"].get<uint32_t>();
  const json& c = j.at("capabilities");
  p.capabilities.bounding = c.at("bounding").get<std::vector<int>>();
  p.capabilities.effective = c.at("effective").get<std::vector<int>>();
  p.capabilities.inheritable = c.at("inheritable").get<std::vector<int>>();
  p.capabilities.permitted = c.at("permitted").get<std::vector<int>>();
  p.capabilities.ambient = c.at("ambient").get<std::vector<int>>();
  for (const json& r : j.at("rlimits")) {
    p.rlimits.push_back({r.at(0).get<int>(), r.at(1).get<uint64_t>(), r.at(2).get<uint64_t>()});
  }
  p.no_new_privileges = j.at("no_new_privileges").get<bool>();
  if (j.contains("oom_score_adj")) p.oom_score_adj = j["oom_score_adj"].get<int>();
  return p;
}

}  // namespace

Status SaveConfinement(const std::string& root, const std::string& id, const Confinement& c) {
  json rules = json::array();
  for (const landlock::PathRule& r : c.landlock.rules) rules.push_back({r.path, r.access});
  json j = {
      {"process", ProcessJson(c.process)},
      {"landlock",
       {{"abi", c.landlock.abi},
        {"handled_fs", c.landlock.handled_fs},
        {"handled_net", c.landlock.handled_net},
        {"scoped", c.landlock.scoped},
        {"rules", rules}}},
      {"seccomp",
       {{"program", Hex(c.filter.program)},
        {"errno_program", Hex(c.filter.errno_program)},
        {"flags", c.filter.flags},
        {"notify", c.filter.notify},
        {"profile_name", c.filter.profile_name}}},
      {"oci_seccomp", {{"program", Hex(c.oci_filter.program)}, {"flags", c.oci_filter.flags}}},
      {"own_pid_ns", c.own_pid_ns},
      {"own_net_ns", c.own_net_ns}};
  return WriteFileAtomic(RecordDir(root, id) + "/" + kFile, j.dump() + "\n", 0600, Sync::kNoSync);
}

Result<Confinement> LoadConfinement(const std::string& root, const std::string& id) {
  const std::string path = RecordDir(root, id) + "/" + kFile;
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) {
    if (text.status().err() == ENOENT) {
      return Error(Code::kNotFound,
                   fmt::format("container `{}` has no saved confinement (`{}`): it was created "
                               "by a hive-run without exec support; recreate it",
                               id, path));
    }
    return text.status();
  }
  auto damaged = [&](const std::string& why) {
    return Error(Code::kInternal,
                 fmt::format("container confinement `{}` is damaged: {}", path, why));
  };
  try {
    const json j = json::parse(*text);
    Confinement c;
    c.process = ProcessFrom(j.at("process"));
    const json& ll = j.at("landlock");
    c.landlock.abi = ll.at("abi").get<int>();
    c.landlock.handled_fs = ll.at("handled_fs").get<uint64_t>();
    c.landlock.handled_net = ll.at("handled_net").get<uint64_t>();
    c.landlock.scoped = ll.at("scoped").get<uint64_t>();
    for (const json& r : ll.at("rules")) {
      c.landlock.rules.push_back({r.at(0).get<std::string>(), r.at(1).get<uint64_t>()});
    }
    const json& sc = j.at("seccomp");
    if (!Unhex(sc.at("program").get<std::string>(), &c.filter.program) ||
        !Unhex(sc.at("errno_program").get<std::string>(), &c.filter.errno_program)) {
      return damaged("seccomp.program");
    }
    c.filter.flags = sc.at("flags").get<unsigned>();
    c.filter.notify = sc.at("notify").get<bool>();
    c.filter.profile_name = sc.at("profile_name").get<std::string>();
    const json& oci = j.at("oci_seccomp");
    if (!Unhex(oci.at("program").get<std::string>(), &c.oci_filter.program)) {
      return damaged("oci_seccomp.program");
    }
    c.oci_filter.flags = oci.at("flags").get<unsigned>();
    c.own_pid_ns = j.at("own_pid_ns").get<bool>();
    c.own_net_ns = j.at("own_net_ns").get<bool>();
    return c;
  } catch (const json::exception& e) {
    return damaged(e.what());
  }
}

}  // namespace hive::oci
