#include "sandbox/cgroups/cgroup_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <sstream>
#include <thread>

#include "base/files.h"

namespace hive::cgroups {
namespace {

std::vector<std::string> PathComponents(const std::string& rel) {
  std::vector<std::string> out;
  std::istringstream in(rel);
  for (std::string part; std::getline(in, part, '/');) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

// rmdir that retries while the kernel still counts exiting tasks (EBUSY).
Status RmdirWait(const std::string& path, Clock::time_point deadline) {
  for (;;) {
    if (::rmdir(path.c_str()) == 0 || errno == ENOENT) return Ok();
    if (errno != EBUSY || Clock::now() >= deadline) return Errno(fmt::format("rmdir `{}`", path));
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace

Status CollectProcs(const std::string& path, std::vector<pid_t>* pids) {
  HIVE_ASSIGN_OR_RETURN(std::string text, ReadFile(path + "/cgroup.procs"));
  std::istringstream in(text);
  for (long p; in >> p;) pids->push_back(static_cast<pid_t>(p));
  HIVE_ASSIGN_OR_RETURN(std::vector<std::string> children, SubCgroups(path));
  for (const auto& c : children) HIVE_TRY(CollectProcs(path + "/" + c, pids));
  return Ok();
}

CgroupDir::CgroupDir(CgroupDir&& o) noexcept
    : path_(std::move(o.path_)),
      created_parents_(std::move(o.created_parents_)),
      fd_(std::move(o.fd_)),
      owned_(std::exchange(o.owned_, false)) {
  o.path_.clear();
}

CgroupDir& CgroupDir::operator=(CgroupDir&& o) noexcept {
  if (this != &o) {
    if (owned_) (void)Remove(Clock::now());
    path_ = std::exchange(o.path_, {});
    created_parents_ = std::move(o.created_parents_);
    fd_ = std::move(o.fd_);
    owned_ = std::exchange(o.owned_, false);
  }
  return *this;
}

CgroupDir::~CgroupDir() {
  // Best effort and without waiting: a dropped directory that still holds tasks stays, and
  // SweepStale() removes it once it is empty.
  if (owned_) (void)Remove(Clock::now());
}

Result<CgroupDir> CgroupDir::Create(const std::string& base, const std::string& rel) {
  const std::vector<std::string> parts = PathComponents(rel);
  if (parts.empty()) {
    return Error(Code::kInvalidArgument, fmt::format("cgroup path `{}` names no directory", rel));
  }
  for (const auto& p : parts) {
    if (p == "." || p == "..") {
      return Error(Code::kInvalidArgument,
                   fmt::format("cgroup path `{}`: `..` and `.` are not allowed", rel));
    }
  }
  // SweepStale() removes an empty hive-run cgroup that nobody holds; between our mkdir and
  // our flock ours is exactly that. Creators hold `base` shared across the two steps and the
  // sweeper needs it exclusive, so it never sees a cgroup in that window.
  UniqueFd base_fd(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!base_fd.valid()) return Errno(fmt::format("open `{}`", base));
  while (::flock(base_fd.get(), LOCK_SH) != 0) {
    if (errno != EINTR) return Errno(fmt::format("flock `{}`", base));
  }
  CgroupDir dir;
  dir.owned_ = true;
  std::string cur = base;
  for (size_t i = 0; i < parts.size(); ++i) {
    cur += "/" + parts[i];
    const bool leaf = i + 1 == parts.size();
    if (::mkdir(cur.c_str(), 0755) == 0) {
      if (!leaf) dir.created_parents_.push_back(cur);
      continue;
    }
    const int err = errno;
    if (err == EEXIST && !leaf) continue;
    Status s = err == EEXIST ? Error(Code::kInvalidArgument,
                                     fmt::format("mkdir `{}`: the cgroup already exists", cur))
                             : Errno(fmt::format("mkdir `{}`", cur), err);
    dir.path_ = cur;  // only the parents are ours to remove
    dir.owned_ = false;
    for (auto it = dir.created_parents_.rbegin(); it != dir.created_parents_.rend(); ++it) {
      ::rmdir(it->c_str());
    }
    return s;
  }
  dir.path_ = cur;
  dir.fd_.Reset(::open(cur.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.fd_.valid()) return Errno(fmt::format("open `{}`", cur));
  // SweepStale() takes this lock before it removes an empty hive-run cgroup; holding it from
  // right after mkdir marks the directory as in use by a live hive-run.
  if (::flock(dir.fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    return Errno(fmt::format("flock `{}` right after creating it", cur));
  }
  // A directory the kernel did not make a cgroup of (a plain filesystem at `base`).
  if (::faccessat(dir.fd_.get(), "cgroup.procs", F_OK, 0) != 0) {
    return Errno(fmt::format("`{}` is not a cgroup (no cgroup.procs)", cur));
  }
  return dir;
}

Result<CgroupDir> CgroupDir::Adopt(const std::string& path) {
  CgroupDir dir;
  dir.fd_.Reset(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.fd_.valid()) return Errno(fmt::format("open `{}`", path));
  dir.path_ = path;
  return dir;
}

Result<CgroupDir> CgroupDir::AdoptOwned(const std::string& path) {
  HIVE_ASSIGN_OR_RETURN(CgroupDir dir, Adopt(path));
  dir.owned_ = true;
  return dir;
}

bool CgroupDir::Has(const std::string& name) const {
  return fd_.valid() && ::faccessat(fd_.get(), name.c_str(), F_OK, 0) == 0;
}

Status CgroupDir::Write(const std::string& name, const std::string& value) const {
  return WriteControlFile(File(name), value);
}

Result<std::string> CgroupDir::Read(const std::string& name) const { return ReadFile(File(name)); }

Result<std::map<std::string, uint64_t>> CgroupDir::ReadKeyed(const std::string& name) const {
  HIVE_ASSIGN_OR_RETURN(std::string text, Read(name));
  return ParseKeyed(text);
}

Result<uint64_t> CgroupDir::ReadU64(const std::string& name) const {
  HIVE_ASSIGN_OR_RETURN(std::string text, Read(name));
  return ParseU64(text, File(name));
}

Result<std::vector<pid_t>> CgroupDir::Procs() const {
  std::vector<pid_t> pids;
  HIVE_TRY(CollectProcs(path_, &pids));
  return pids;
}

Status CgroupDir::Remove(Clock::time_point deadline) {
  if (!owned_) return Ok();
  Status s = RemoveTree(path_, deadline);
  if (!s.ok()) return s;
  owned_ = false;
  fd_.Reset();
  // Parents shared with another run are not empty: ENOTEMPTY/EBUSY there is expected.
  for (auto it = created_parents_.rbegin(); it != created_parents_.rend(); ++it) {
    ::rmdir(it->c_str());
  }
  created_parents_.clear();
  return Ok();
}

Result<std::vector<std::string>> SubCgroups(const std::string& path) {
  DIR* d = ::opendir(path.c_str());
  if (d == nullptr) return Errno(fmt::format("opendir `{}`", path));
  std::vector<std::string> children;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (e->d_type == DT_DIR && name != "." && name != "..") children.push_back(name);
  }
  ::closedir(d);
  return children;
}

Status RemoveTree(const std::string& path, Clock::time_point deadline) {
  // Sub-cgroups first: rmdir refuses a cgroup that has children.
  Result<std::vector<std::string>> children = SubCgroups(path);
  if (!children.ok()) return children.status().err() == ENOENT ? Ok() : children.status();
  for (const auto& c : *children) HIVE_TRY(RemoveTree(path + "/" + c, deadline));
  return RmdirWait(path, deadline);
}

Result<uint64_t> ParseU64(const std::string& text, const std::string& what) {
  std::string t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == ' ')) t.pop_back();
  if (t == "max") return UINT64_MAX;
  if (t.empty() || t.find_first_not_of("0123456789") != std::string::npos) {
    return Error(Code::kInternal, fmt::format("`{}`: expected a number, got `{}`", what, t));
  }
  errno = 0;
  const unsigned long long v = std::strtoull(t.c_str(), nullptr, 10);
  if (errno == ERANGE) return Error(Code::kInternal, fmt::format("`{}`: `{}` overflows", what, t));
  return static_cast<uint64_t>(v);
}

std::map<std::string, uint64_t> ParseKeyed(const std::string& text) {
  std::map<std::string, uint64_t> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::string key, value;
    if (!(ls >> key >> value)) continue;
    Result<uint64_t> v = ParseU64(value, key);
    if (v.ok()) out[key] = *v;
  }
  return out;
}

IoBytes ParseIoStat(const std::string& text) {
  IoBytes io;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::string dev;
    ls >> dev;
    for (std::string kv; ls >> kv;) {
      const size_t eq = kv.find('=');
      if (eq == std::string::npos) continue;
      Result<uint64_t> v = ParseU64(kv.substr(eq + 1), kv);
      if (!v.ok()) continue;
      const std::string key = kv.substr(0, eq);
      if (key == "rbytes") io.read += *v;
      if (key == "wbytes") io.write += *v;
    }
  }
  return io;
}

IoBytes ParseBlkioServiceBytes(const std::string& text) {
  IoBytes io;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::string dev, op, value;
    // The closing "Total N" line has two fields and is skipped with the rest.
    if (!(ls >> dev >> op >> value)) continue;
    Result<uint64_t> v = ParseU64(value, line);
    if (!v.ok()) continue;
    if (op == "Read") io.read += *v;
    if (op == "Write") io.write += *v;
  }
  return io;
}

}  // namespace hive::cgroups
