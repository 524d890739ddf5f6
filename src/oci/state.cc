#include "oci/state.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "base/files.h"
#include "hive/state_dir.h"

namespace hive::oci {
namespace {

constexpr const char* kOciVersion = "1.0.2";

using HookLists = std::vector<std::pair<const char*, std::vector<HookSpec>*>>;

HookLists Lists(HooksSpec* h) {
  return {{"prestart", &h->prestart},       {"createRuntime", &h->create_runtime},
          {"createContainer", &h->create_container}, {"startContainer", &h->start_container},
          {"poststart", &h->poststart},     {"poststop", &h->poststop}};
}

nlohmann::json HooksJson(const HooksSpec& hooks) {
  nlohmann::json out = nlohmann::json::object();
  HooksSpec copy = hooks;
  for (auto [kind, list] : Lists(&copy)) {
    for (const HookSpec& h : *list) {
      nlohmann::json j = {{"path", h.path}, {"args", h.args}, {"env", h.env}};
      if (h.timeout) j["timeout"] = *h.timeout;
      out[kind].push_back(j);
    }
  }
  return out;
}

HooksSpec HooksFrom(const nlohmann::json& j) {
  HooksSpec out;
  for (auto [kind, list] : Lists(&out)) {
    if (!j.contains(kind)) continue;
    for (const nlohmann::json& h : j.at(kind)) {
      HookSpec hook;
      hook.path = h.at("path").get<std::string>();
      hook.args = h.at("args").get<std::vector<std::string>>();
      hook.env = h.at("env").get<std::vector<std::string>>();
      if (h.contains("timeout")) hook.timeout = h.at("timeout").get<int>();
      list->push_back(hook);
    }
  }
  return out;
}

nlohmann::json ToJson(const ContainerRecord& r) {
  return {{"hooks", HooksJson(r.hooks)},
          {"ceiling",
           {{"memory_bytes", r.ceiling.memory_bytes},
            {"pids", r.ceiling.pids},
            {"cpus", r.ceiling.cpus},
            {"io_read_bps", r.ceiling.io_read_bps},
            {"io_write_bps", r.ceiling.io_write_bps},
            {"policy", r.ceiling.policy}}},
          {"id", r.id},
          {"bundle", r.bundle},
          {"rootfs", r.rootfs},
          {"created", r.created},
          {"owner", r.owner},
          {"annotations", r.annotations},
          {"pid", r.pid},
          {"pid_start", r.pid_start},
          {"monitor_pid", r.monitor_pid},
          {"monitor_start", r.monitor_start},
          {"started", r.started},
          {"cgroup_dirs", r.cgroup_dirs},
          {"audit_log", r.audit_log},
          {"key_dir", r.key_dir},
          {"command", r.command}};
}

Result<ContainerRecord> FromJson(const std::string& text, const std::string& path) {
  try {
    nlohmann::json j = nlohmann::json::parse(text);
    ContainerRecord r;
    r.id = j.at("id").get<std::string>();
    r.bundle = j.at("bundle").get<std::string>();
    r.rootfs = j.at("rootfs").get<std::string>();
    r.created = j.at("created").get<std::string>();
    r.owner = j.at("owner").get<std::string>();
    r.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
    r.pid = j.at("pid").get<pid_t>();
    r.pid_start = j.at("pid_start").get<uint64_t>();
    r.monitor_pid = j.at("monitor_pid").get<pid_t>();
    r.monitor_start = j.at("monitor_start").get<uint64_t>();
    r.started = j.at("started").get<bool>();
    r.cgroup_dirs = j.at("cgroup_dirs").get<std::vector<std::string>>();
    r.audit_log = j.at("audit_log").get<std::string>();
    r.key_dir = j.at("key_dir").get<std::string>();
    r.command = j.at("command").get<std::string>();
    // Records written before hooks and update existed have neither.
    if (j.contains("hooks")) r.hooks = HooksFrom(j.at("hooks"));
    if (j.contains("ceiling")) {
      const nlohmann::json& c = j.at("ceiling");
      r.ceiling.memory_bytes = c.at("memory_bytes").get<uint64_t>();
      r.ceiling.pids = c.at("pids").get<uint64_t>();
      r.ceiling.cpus = c.at("cpus").get<double>();
      r.ceiling.io_read_bps = c.at("io_read_bps").get<uint64_t>();
      r.ceiling.io_write_bps = c.at("io_write_bps").get<uint64_t>();
      r.ceiling.policy = c.at("policy").get<std::string>();
    }
    return r;
  } catch (const nlohmann::json::exception& e) {
    return Error(Code::kInternal, fmt::format("container state `{}` is damaged: {}", path, e.what()));
  }
}

}  // namespace

Status ValidateId(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 1024 && id[0] != '.';
  for (char c : id) {
    ok = ok && (isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '-' ||
                c == '.');
  }
  if (!ok) {
    return Error(Code::kInvalidArgument,
                 fmt::format("invalid container id `{}`: use [A-Za-z0-9_+.-], not starting with "
                             "'.'",
                             id.substr(0, 80)));
  }
  return Ok();
}

std::string RecordDir(const std::string& root, const std::string& id) { return root + "/" + id; }

Status CreateRecordDir(const std::string& root, const std::string& id) {
  HIVE_TRY(ValidateId(id));
  HIVE_TRY(EnsureDir(root, 0700).Wrap("state root"));
  const std::string dir = RecordDir(root, id);
  if (mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      return Error(Code::kFailedPrecondition, fmt::format("container with id exists: {}", id));
    }
    return Errno(fmt::format("create `{}`", dir));
  }
  return Ok();
}

Status SaveRecord(const std::string& root, const ContainerRecord& record) {
  return WriteFileAtomic(RecordDir(root, record.id) + "/state.json", ToJson(record).dump() + "\n",
                         0600, Sync::kNoSync);
}

Result<ContainerRecord> LoadRecord(const std::string& root, const std::string& id) {
  HIVE_TRY(ValidateId(id));
  const std::string path = RecordDir(root, id) + "/state.json";
  Result<std::string> text = ReadFile(path);
  if (!text.ok()) {
    if (text.status().err() == ENOENT) {
      return Error(Code::kNotFound, fmt::format("container `{}` does not exist", id));
    }
    return text.status();
  }
  return FromJson(*text, path);
}

Result<std::vector<ContainerRecord>> ListRecords(const std::string& root) {
  std::vector<ContainerRecord> out;
  DIR* d = opendir(root.c_str());
  if (d == nullptr) {
    if (errno == ENOENT) return out;
    return Errno(fmt::format("read state root `{}`", root));
  }
  std::vector<std::string> ids;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] != '.') ids.emplace_back(e->d_name);
  }
  closedir(d);
  std::sort(ids.begin(), ids.end());
  for (const std::string& id : ids) {
    // A directory without a record is a create under way (or one that failed): not listed.
    Result<ContainerRecord> r = LoadRecord(root, id);
    if (r.ok()) out.push_back(std::move(r).value());
  }
  return out;
}

Status RemoveRecordDir(const std::string& root, const std::string& id) {
  HIVE_TRY(ValidateId(id));
  std::error_code ec;
  std::filesystem::remove_all(RecordDir(root, id), ec);
  if (ec) return Error(Code::kInternal, fmt::format("remove `{}`: {}", RecordDir(root, id), ec.message()));
  return Ok();
}

uint64_t ProcessStartTime(pid_t pid) {
  if (pid <= 0) return 0;
  Result<std::string> stat = ReadFile(fmt::format("/proc/{}/stat", pid));
  if (!stat.ok()) return 0;
  // The command name may hold spaces and parentheses: fields count from the last ')'.
  const size_t close = stat->rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<std::string> fields;
  size_t i = close + 2;
  while (i < stat->size() && fields.size() < 20) {
    size_t j = stat->find(' ', i);
    if (j == std::string::npos) j = stat->size();
    fields.push_back(stat->substr(i, j - i));
    i = j + 1;
  }
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  if (fields.size() < 20 || fields[0] == "Z" || fields[0] == "X") return 0;
  return std::strtoull(fields[19].c_str(), nullptr, 10);
}

bool Alive(const ContainerRecord& r) {
  const uint64_t start = ProcessStartTime(r.pid);
  return start != 0 && start == r.pid_start;
}

std::string StatusOf(const ContainerRecord& r) {
  if (!Alive(r)) return "stopped";
  if (!r.started) return "created";
  for (const std::string& dir : r.cgroup_dirs) {
    // cgroup v2 reports a frozen cgroup in cgroup.events, v1 in freezer.state.
    if (Result<std::string> ev = ReadFile(dir + "/cgroup.events");
        ev.ok() && ev->find("frozen 1") != std::string::npos) {
      return "paused";
    }
    if (Result<std::string> fs = ReadFile(dir + "/freezer.state");
        fs.ok() && fs->rfind("FROZEN", 0) == 0) {
      return "paused";
    }
  }
  return "running";
}

nlohmann::json StateJson(const ContainerRecord& r) {
  const std::string status = StatusOf(r);
  return {{"ociVersion", kOciVersion},
          {"id", r.id},
          {"pid", status == "stopped" ? 0 : r.pid},
          {"status", status},
          {"bundle", r.bundle},
          {"rootfs", r.rootfs},
          {"created", r.created},
          {"owner", r.owner},
          {"annotations", r.annotations}};
}

}  // namespace hive::oci
