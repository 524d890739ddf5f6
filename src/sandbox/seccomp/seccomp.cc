#include "sandbox/seccomp/seccomp.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/capability.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <unordered_map>

#include "base/files.h"
#include "hive/state_dir.h"
#include "sandbox/seccomp/bpf.h"
#include "sandbox/seccomp/compiler.h"
#include "sandbox/seccomp/profile.h"
#include "sandbox/seccomp/syscalls.h"

namespace hive::seccomp {
namespace {

namespace fs = std::filesystem;

std::mutex& CacheMutex() {
  static std::mutex m;
  return m;
}
std::unordered_map<std::string, Filter>& Cache() {
  static auto* cache = new std::unordered_map<std::string, Filter>;
  return *cache;
}

std::string CapName(int cap) {
  char* raw = cap_to_name(static_cast<cap_value_t>(cap));
  if (!raw) return fmt::format("CAP_{}", cap);
  std::string name = raw;
  cap_free(raw);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return name;
}


// Bump when the cache file's layout changes; compiler changes are covered by BuildId().
constexpr int kCacheFormat = 3;

nlohmann::json ProgramToJson(const std::vector<sock_filter>& prog) {
  std::vector<uint8_t> bytes(prog.size() * sizeof(sock_filter));
  std::memcpy(bytes.data(), prog.data(), bytes.size());
  return nlohmann::json::binary(std::move(bytes));
}

bool ProgramFromJson(const nlohmann::json& j, std::vector<sock_filter>* prog) {
  if (!j.is_binary() || j.get_binary().size() % sizeof(sock_filter) != 0) return false;
  prog->resize(j.get_binary().size() / sizeof(sock_filter));
  std::memcpy(prog->data(), j.get_binary().data(), j.get_binary().size());
  return true;
}

std::string Serialize(const std::string& key, const Filter& f) {
  nlohmann::json labels = nlohmann::json::array();
  for (const RetLabel& l : f.labels) labels.push_back({l.index, l.type, l.note});
  nlohmann::json body = {
      {"program", ProgramToJson(f.program)},
      {"errno_program", ProgramToJson(f.errno_program)},
      {"profile_name", f.profile_name},
      {"profile_sha256", f.profile_sha256},
      {"notify", f.notify},
      {"labels", labels},
      {"flags", f.flags},
      {"arches", f.arches},
      {"blocked_operations", f.blocked_operations},
      {"deny_inet_sockets", f.deny_inet_sockets},
      {"deny_hugetlb", f.deny_hugetlb},
      {"egress", f.egress},
      {"watch_exits", f.watch_exits},
      {"highest_syscall", f.highest_syscall},
      {"unknown_syscalls", f.unknown_syscalls},
  };
  std::vector<uint8_t> payload = nlohmann::json::to_cbor(body);
  std::string payload_str(payload.begin(), payload.end());
  nlohmann::json outer = {{"key", key},
                          {"sha256", Sha256Hex(payload_str)},
                          {"payload", nlohmann::json::binary(std::move(payload))}};
  std::vector<uint8_t> bytes = nlohmann::json::to_cbor(outer);
  return std::string(bytes.begin(), bytes.end());
}

// A cache file that is torn, foreign or for another key is ignored (and later rewritten).
bool Deserialize(const std::string& bytes, const std::string& key, Filter* f) {
  nlohmann::json outer = nlohmann::json::from_cbor(bytes, true, false);
  if (outer.is_discarded() || !outer.is_object() || outer.value("key", "") != key ||
      !outer.contains("payload") || !outer["payload"].is_binary()) {
    return false;
  }
  const auto& payload = outer["payload"].get_binary();
  if (Sha256Hex(std::string(payload.begin(), payload.end())) != outer.value("sha256", "")) {
    return false;
  }
  nlohmann::json b = nlohmann::json::from_cbor(payload, true, false);
  if (b.is_discarded() || !b.is_object()) return false;
  try {
    if (!ProgramFromJson(b.at("program"), &f->program) ||
        !ProgramFromJson(b.at("errno_program"), &f->errno_program)) {
      return false;
    }
    f->profile_name = b.at("profile_name").get<std::string>();
    f->profile_sha256 = b.at("profile_sha256").get<std::string>();
    f->notify = b.at("notify").get<bool>();
    for (const auto& l : b.at("labels")) {
      f->labels.push_back(
          {l.at(0).get<uint32_t>(), l.at(1).get<std::string>(), l.at(2).get<std::string>()});
    }
    f->flags = b.at("flags").get<unsigned int>();
    f->arches = b.at("arches").get<std::vector<std::string>>();
    f->blocked_operations = b.at("blocked_operations").get<std::vector<std::string>>();
    f->deny_inet_sockets = b.at("deny_inet_sockets").get<bool>();
    f->deny_hugetlb = b.value("deny_hugetlb", false);
    f->egress = b.value("egress", false);
    f->watch_exits = b.at("watch_exits").get<bool>();
    f->highest_syscall = b.at("highest_syscall").get<int>();
    f->unknown_syscalls = b.at("unknown_syscalls").get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception&) {
    return false;
  }
  return f->program.size() == f->errno_program.size();
}

// A rebuilt hive-run may compile differently: its binary's size and time are in the key.
std::string BuildId() {
  struct stat st {};
  if (stat("/proc/self/exe", &st) != 0) return "unknown";
  return fmt::format("{}.{}.{}", st.st_size, st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

}  // namespace

bool NotifySupported() {
  uint32_t action = SECCOMP_RET_USER_NOTIF;
  return syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
}

std::string ProfilesDir() {
  if (const char* env = std::getenv("HIVE_RUN_PROFILES_DIR"); env && *env) return env;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path installed = exe.parent_path().parent_path() / "share" / "hive-run" / "profiles";
    if (fs::is_directory(installed, ec)) return installed.string();
  }
  return std::string(HIVE_SOURCE_ROOT) + "/profiles";
}

bool IsPathLike(const std::string& s) {
  if (s.find('/') != std::string::npos) return true;
  for (const char* ext : {".json", ".yaml", ".yml"}) {
    size_t n = std::strlen(ext);
    if (s.size() > n && s.compare(s.size() - n, n, ext) == 0) return true;
  }
  return false;
}

Result<std::string> ResolveProfile(const std::string& name_or_path, const std::string& base_dir) {
  if (name_or_path.empty() || name_or_path == "unconfined" || name_or_path == "none")
    return std::string();
  if (IsPathLike(name_or_path)) {
    fs::path p = name_or_path;
    if (p.is_relative() && !base_dir.empty()) p = fs::path(base_dir) / p;
    std::error_code ec;
    if (!fs::is_regular_file(p, ec)) {
      return Error(Code::kNotFound, fmt::format("seccomp profile `{}`: no such file", p.string()));
    }
    return p.lexically_normal().string();
  }
  std::string dir = ProfilesDir();
  for (const char* ext : {".yaml", ".yml", ".json"}) {
    std::string candidate = dir + "/" + name_or_path + ext;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate;
  }
  return Error(Code::kNotFound,
               fmt::format("seccomp profile \"{}\": not in `{}` (shipped: default, strict, "
                           "permissive; or give a path)",
                           name_or_path, dir));
}

namespace {

// Whether the process has a file size limit (RLIMIT_FSIZE below infinity).
bool FileSizeLimited(const RunSpec& spec) {
  for (const RlimitSpec& r : spec.process.rlimits) {
    if (r.resource == RLIMIT_FSIZE) return r.soft != UINT64_MAX;
  }
  return false;
}

}  // namespace

Result<Filter> Prepare(const RunSpec& spec, const std::string& cache_dir) {
  CompileOptions o;
  o.blocked_operations = spec.hive.blocked_operations;
  std::sort(o.blocked_operations.begin(), o.blocked_operations.end());
  o.blocked_operations.erase(std::unique(o.blocked_operations.begin(), o.blocked_operations.end()),
                             o.blocked_operations.end());
  for (int cap : spec.process.capabilities.bounding) o.capabilities.push_back(CapName(cap));
  std::sort(o.capabilities.begin(), o.capabilities.end());
  // With no profile the user asked for no syscall filter: only what the policy names. In a
  // joined network namespace (the engine's, or the host's by host_namespaces) the network is
  // what its owner set up, not off; the container holds no privilege over it.
  o.deny_inet_sockets = !spec.hive.network.enabled && !spec.JoinsNetwork() &&
                        !spec.linux.seccomp_profile.empty();
  o.egress = spec.hive.network.enabled;
  o.deny_hugetlb = spec.linux.resources.no_hugepages;
  o.notify = NotifySupported();
  o.watch_exits = spec.hive.payload_ignores_sigxfsz && FileSizeLimited(spec);
  utsname u{};
  uname(&u);
  std::sscanf(u.release, "%d.%d", &o.kernel_major, &o.kernel_minor);

  if (spec.linux.seccomp_profile.empty() && o.blocked_operations.empty() && !o.egress &&
      !o.deny_hugetlb) {
    return Filter{};
  }

  std::string text, groups_text;
  std::string groups_path = ProfilesDir() + "/groups.yaml";
  if (!spec.linux.seccomp_profile.empty()) {
    HIVE_ASSIGN_OR_RETURN(text, ReadInputFile(spec.linux.seccomp_profile, kSeccompProfileInput));
    std::error_code ec;
    if (fs::exists(groups_path, ec)) {
      HIVE_ASSIGN_OR_RETURN(groups_text, ReadInputFile(groups_path, kSeccompGroupsInput));
    }
  }
  const scmp_version* v = seccomp_version();
  std::string key_material =
      fmt::format("hive-seccomp/{}/{}\n{}.{}.{}\n{}\n{}.{}\n{}\n{}\n{}\n{}\n{}\n", kCacheFormat,
                  BuildId(), v->major, v->minor, v->micro, NativeArch(), o.kernel_major,
                  o.kernel_minor, fmt::join(o.blocked_operations, ","),
                  fmt::join(o.capabilities, ","), o.deny_inet_sockets, o.notify, o.watch_exits) +
      (o.egress ? "egress\n" : "") + (o.deny_hugetlb ? "no-hugetlb\n" : "");
  std::string key = Sha256Hex(key_material + Sha256Hex(text) + Sha256Hex(groups_text));
  {
    std::lock_guard<std::mutex> lock(CacheMutex());
    auto it = Cache().find(key);
    if (it != Cache().end()) {
      Filter f = it->second;
      f.from_cache = true;
      return f;
    }
  }

  std::string cache_file = cache_dir.empty() ? "" : cache_dir + "/" + key + ".bpf";
  if (!cache_file.empty()) {
    auto bytes = ReadFile(cache_file);
    Filter cached;
    if (bytes.ok() && Deserialize(bytes.value(), key, &cached)) {
      std::lock_guard<std::mutex> lock(CacheMutex());
      Cache().emplace(key, cached);
      cached.from_cache = true;
      return cached;
    }
  }

  Filter f;
  if (spec.linux.seccomp_profile.empty()) {
    HIVE_ASSIGN_OR_RETURN(f, Compile(nullptr, o));
  } else {
    GroupMap groups;
    if (!groups_text.empty()) {
      HIVE_ASSIGN_OR_RETURN(groups, ParseGroups(groups_text, groups_path));
    }
    HIVE_ASSIGN_OR_RETURN(Profile p, ParseProfile(text, spec.linux.seccomp_profile, groups));
    auto compiled = Compile(&p, o);
    if (!compiled.ok())
      return compiled.status().Wrap("seccomp profile `" + spec.linux.seccomp_profile + "`");
    f = std::move(compiled).value();
  }
  if (!cache_file.empty()) {
    // A cache that cannot be written costs the next run a compile, nothing else.
    if (EnsureDir(cache_dir, 0700).ok()) (void)WriteFileAtomic(cache_file, Serialize(key, f), 0600);
  }
  std::lock_guard<std::mutex> lock(CacheMutex());
  Cache().emplace(key, f);
  return f;
}

void ClearProcessCache() {
  std::lock_guard<std::mutex> lock(CacheMutex());
  Cache().clear();
}

int Install(const Filter& f, int* listener_fd) noexcept {
  *listener_fd = -1;
  if (f.program.empty()) return 0;
  sock_fprog prog{static_cast<unsigned short>(f.program.size()),
                  const_cast<sock_filter*>(f.program.data())};
  if (f.notify) {
    // WAIT_KILLABLE_RECV (5.19+): once the supervisor has read a notification, a non-fatal
    // signal does not restart the call, which would count the same denial twice.
    long fd = syscall(
        SYS_seccomp, SECCOMP_SET_MODE_FILTER,
        f.flags | SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
    if (fd < 0 && errno == EINVAL) {
      fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f.flags | SECCOMP_FILTER_FLAG_NEW_LISTENER,
                   &prog);
    }
    if (fd >= 0) {
      *listener_fd = static_cast<int>(fd);
      return 0;
    }
    // Only one listener per filter chain: nested in a sandbox that has one, deny in-kernel.
    if (errno != EBUSY) return -errno;
    prog = sock_fprog{static_cast<unsigned short>(f.errno_program.size()),
                      const_cast<sock_filter*>(f.errno_program.data())};
  }
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f.flags, &prog) < 0) return -errno;
  return 0;
}

Listener::Listener(int fd, const Filter& filter)
    : fd_(fd), errno_program_(filter.errno_program), labels_(filter.labels) {
  // The kernel's structures may be larger than this build's headers; size buffers to both.
  seccomp_notif_sizes sizes{};
  size_t req = sizeof(seccomp_notif), resp = sizeof(seccomp_notif_resp);
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0) {
    req = std::max<size_t>(req, sizes.seccomp_notif);
    resp = std::max<size_t>(resp, sizes.seccomp_notif_resp);
  }
  req_buf_.resize(req);
  resp_buf_.resize(resp);
}

void Listener::Handle(const std::string& type, Handler handler) {
  for (auto& [t, h] : handlers_) {
    if (t == type) {
      h = std::move(handler);
      return;
    }
  }
  handlers_.emplace_back(type, std::move(handler));
}

void Listener::OnExit(std::function<void(pid_t)> watcher) {
  Handle(kWatchLabel, [watcher = std::move(watcher)](const Notification& n) {
    watcher(n.pid);
    return Response::Continue();
  });
}

Status Listener::Send(const Notification& n, const Response& r) {
  if (r.kind == Response::Kind::kDeferred) return Ok();
  Status s = Answer(fd_.get(), n.id, r);
  if (!s.ok()) return s.Wrap(fmt::format("seccomp listener: answer {}", SyscallName(n.arch, n.nr)));
  return Ok();
}

Status Answer(int listener_fd, uint64_t id, const Response& r) {
  // The kernel's structure may be larger than this build's header.
  static const size_t kRespSize = [] {
    seccomp_notif_sizes sizes{};
    size_t size = sizeof(seccomp_notif_resp);
    if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) == 0) {
      size = std::max<size_t>(size, sizes.seccomp_notif_resp);
    }
    return size;
  }();
  std::vector<char> buf(kRespSize, 0);
  auto* resp = reinterpret_cast<seccomp_notif_resp*>(buf.data());
  resp->id = id;
  switch (r.kind) {
    case Response::Kind::kErrno:
      resp->error = -r.error;
      break;
    case Response::Kind::kValue:
      resp->val = r.value;
      break;
    case Response::Kind::kContinue:
      resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
      break;
    case Response::Kind::kDeferred:
      return Ok();
    case Response::Kind::kInjectFd: {
      seccomp_notif_addfd add = {};
      add.id = id;
      add.srcfd = static_cast<uint32_t>(r.fd);
      add.newfd = r.target_fd >= 0 ? static_cast<uint32_t>(r.target_fd) : 0;
      add.flags = r.target_fd >= 0 ? SECCOMP_ADDFD_FLAG_SETFD : 0;
      add.newfd_flags = r.cloexec ? O_CLOEXEC : 0;
      const int installed = ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
      if (installed < 0) {
        if (errno == ENOENT) return Ok();  // the caller is gone: nothing was installed
        resp->error = -errno;
        break;
      }
      resp->val = r.value_is_fd ? installed : r.value;
      break;
    }
  }
  if (ioctl(listener_fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 && errno != ENOENT) {
    return Errno("send the answer");
  }
  return Ok();
}

void Listener::CountDenial(const Notification& n) {
  const uint32_t nr = static_cast<uint32_t>(n.nr);
  std::string detail = SyscallName(n.arch, nr);
  if (n.arch != NativeArch()) {
    detail += " (" + ArchName(n.arch) + " ABI)";
  } else if (n.arch == AUDIT_ARCH_X86_64 && (nr & kX32SyscallBit)) {
    detail += " (x32 ABI)";
  }
  if (!n.note.empty()) detail += " (" + n.note + ")";
  ++total_;
  for (auto& [k, count] : counts_) {
    if (k.first == n.type && k.second == detail) {
      ++count;
      return;
    }
  }
  counts_.push_back({{n.type, detail}, 1});
}

Status Listener::HandleOne() {
  std::fill(req_buf_.begin(), req_buf_.end(), 0);
  auto* req = reinterpret_cast<seccomp_notif*>(req_buf_.data());
  if (ioctl(fd_.get(), SECCOMP_IOCTL_NOTIF_RECV, req) < 0) {
    // ENOENT: the task was killed between wake-up and receive; nothing to answer.
    if (errno == ENOENT || errno == EINTR) return Ok();
    return Errno("seccomp listener: receive notification");
  }
  // Which rule raised it: the errno variant of the filter, replayed on our copy of the data.
  const bpf::Verdict v = bpf::Run(errno_program_, req->data);
  Notification n;
  n.id = req->id;
  n.pid = static_cast<pid_t>(req->pid);
  n.arch = req->data.arch;
  n.nr = req->data.nr;
  std::copy(std::begin(req->data.args), std::end(req->data.args), n.args);
  n.type = "syscall";
  for (const RetLabel& l : labels_) {
    if (l.index == v.index) {
      n.type = l.type;
      n.note = l.note;
      break;
    }
  }
  n.default_errno = EPERM;
  if ((v.action & SECCOMP_RET_ACTION_FULL) == SECCOMP_RET_ERRNO && (v.action & SECCOMP_RET_DATA)) {
    n.default_errno = static_cast<int>(v.action & SECCOMP_RET_DATA);
  }
  for (const auto& [type, handler] : handlers_) {
    if (type != n.type) continue;
    const Response r = handler(n);
    Status sent = Send(n, r);
    if (r.kind == Response::Kind::kInjectFd && r.fd >= 0) close(r.fd);
    if (r.kind == Response::Kind::kErrno && r.denial) CountDenial(n);
    return sent;
  }
  // A denial: the profile's errno, and counted for the report.
  HIVE_TRY(Send(n, Response::Errno(n.default_errno)));
  CountDenial(n);
  return Ok();
}

std::vector<Denial> Listener::Denials() const {
  std::vector<Denial> out;
  for (const auto& [k, n] : counts_) out.push_back(Denial{k.first, k.second, n});
  return out;
}

}  // namespace hive::seccomp
