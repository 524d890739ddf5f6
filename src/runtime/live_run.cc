#include "runtime/live_run.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/files.h"
#include "hive/run.h"
#include "hive/state_dir.h"

namespace hive {
namespace {

std::string LiveDir(const std::string& state_dir) { return state_dir + "/live"; }

// The largest mark we read back: a handful of fields, or an unrecorded run's report.
constexpr size_t kMaxMarkBytes = 4 * 1024 * 1024;

// Takes the mark at `path` when no supervisor holds it and it still names a run (a mark
// unlinked by a run that just ended is not a loss).
bool TakeIfAbandoned(const std::string& path, UniqueFd* out) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) return false;
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) return false;
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink == 0) return false;
  *out = std::move(fd);
  return true;
}

}  // namespace

Result<LiveRun> LiveRun::Begin(const std::string& state_dir, const std::string& run_id,
                               const nlohmann::json& info) {
  const std::string dir = LiveDir(state_dir);
  HIVE_TRY(EnsureDir(dir, 0700));
  const std::string path = dir + "/" + run_id;
  // The mark gets its name only once it is locked and written: a recoverer that finds a
  // named, unlocked mark may take it as lost, so there must never be one for a live run.
  // An unnamed file (O_TMPFILE) is linked in; where a filesystem has no unnamed files, a
  // dot-named one (which FindLost skips) is renamed in.
  LiveRun live;
  std::string tmp;
  live.fd_.Reset(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!live.fd_.valid()) {
    tmp = fmt::format("{}/.{}.{}", dir, run_id, ::getpid());
    live.fd_.Reset(::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!live.fd_.valid()) return Errno(fmt::format("create a run mark in `{}`", dir));
  }
  auto fail = [&](const Status& s) {
    if (!tmp.empty()) ::unlink(tmp.c_str());
    return s;
  };
  if (::flock(live.fd_.get(), LOCK_EX | LOCK_NB) != 0) {
    return fail(Errno(fmt::format("lock the run mark for `{}`", run_id)));
  }
  if (Status s = WriteAll(live.fd_.get(), info.dump() + "\n", path); !s.ok()) return fail(s);
  int rc;
  if (tmp.empty()) {
    const std::string self = fmt::format("/proc/self/fd/{}", live.fd_.get());
    rc = ::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW);
  } else {
    rc = ::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE);
  }
  if (rc != 0) {
    return fail(Errno(errno == EEXIST
                          ? fmt::format("run `{}` is already under way (`{}` exists)", run_id, path)
                          : fmt::format("mark run `{}` as under way at `{}`", run_id, path)));
  }
  live.path_ = path;
  return live;
}

Status LiveRun::Rewrite(const nlohmann::json& info) {
  if (::ftruncate(fd_.get(), 0) != 0) return Errno(fmt::format("truncate `{}`", path_));
  const std::string text = info.dump() + "\n";
  if (::pwrite(fd_.get(), text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
    return Errno(fmt::format("write `{}`", path_));
  }
  return Ok();
}

void LiveRun::End() {
  if (!path_.empty()) ::unlink(path_.c_str());
  path_.clear();
  fd_.Reset();
}

void LostRun::Done() {
  if (!path.empty()) ::unlink(path.c_str());
  path.clear();
  lock.Reset();
}

std::vector<LostRun> FindLost(const std::string& state_dir) {
  std::vector<LostRun> lost;
  const std::string dir = LiveDir(state_dir);
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return lost;
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    LostRun run;
    run.path = dir + "/" + e->d_name;
    if (!TakeIfAbandoned(run.path, &run.lock)) continue;
    run.run_id = e->d_name;
    std::string text(kMaxMarkBytes, '\0');
    ssize_t n = ::pread(run.lock.get(), text.data(), text.size(), 0);
    text.resize(n > 0 ? static_cast<size_t>(n) : 0);
    // A mark cut short by the crash still names its run: the file name is the run id.
    run.info = nlohmann::json::parse(text, nullptr, false);
    if (!run.info.is_object()) run.info = nlohmann::json::object();
    run.info["run_id"] = run.run_id;
    lost.push_back(std::move(run));
  }
  ::closedir(d);
  return lost;
}

bool RunUnderWay(const std::string& state_dir, const std::string& run_id) {
  UniqueFd fd(::open((LiveDir(state_dir) + "/" + run_id).c_str(),
                     O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (!fd.valid()) return false;
  if (::flock(fd.get(), LOCK_SH | LOCK_NB) == 0) return false;
  return errno == EWOULDBLOCK;
}

}  // namespace hive
