// AuditLog: appending signed, chained records (see record.h for the bytes).
//
// Every append happens under an exclusive flock on the log itself: read the tail, take seq and
// prev from the newest record, write the new line with one write() on an O_APPEND descriptor,
// fsync, unlock. Concurrent hive-run processes therefore serialise on the file, and a crash
// can at worst leave an unterminated last line, which the next append closes and records.
//
// A run must not happen unless its record can be written, so everything that can refuse is
// checked at open (the log, the key) and the disk space the records need is allocated before
// the payload runs (Reserve); what can still fail later (an I/O error, the log replaced under
// the run) fails the append loudly and leaves the log as it was.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <system_error>
#include <thread>

#include "audit/keys.h"
#include "audit/record.h"
#include "base/files.h"
#include "base/unique_fd.h"
#include "hive/audit.h"
#include "hive/state_dir.h"

namespace hive::audit {
namespace {

constexpr std::string_view kAppendEvents[] = {"run", "violation", "refused"};

// The pids that hold a flock on the file (dev, ino), from /proc/locks; waiters ("->") are not
// holders.
std::vector<pid_t> LockHolders(dev_t dev, ino_t ino) {
  std::vector<pid_t> pids;
  Result<std::string> locks = ReadFile("/proc/locks");
  if (!locks.ok()) return pids;
  // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF": major and minor in hex, inode decimal.
  const std::string file = fmt::format("{:02x}:{:02x}:{}", major(dev), minor(dev), ino);
  std::string_view rest = *locks;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string line(rest.substr(0, nl));
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    char kind[16] = {}, access[16] = {}, id[64] = {};
    int pid = 0;
    if (line.find("->") != std::string::npos ||
        std::sscanf(line.c_str(), "%*d: %15s %*s %15s %d %63s", kind, access, &pid, id) != 4 ||
        std::string_view(kind) != "FLOCK" || id != file) {
      continue;
    }
    pids.push_back(pid);
  }
  return pids;
}

std::string ProcessName(pid_t pid) {
  Result<std::string> comm = ReadFile(fmt::format("/proc/{}/comm", pid));
  if (!comm.ok()) return "";
  std::string name = comm.value();
  while (!name.empty() && name.back() == '\n') name.pop_back();
  return name;
}

// An exclusive flock on the log, waited for at most `timeout`.
//
// flock(2) has no timeout, and a signal to interrupt it would reach into the whole process
// (the supervisor owns the signals). So a contended wait blocks in a helper thread on a dup of
// the descriptor — a flock belongs to the open file description, which the dup shares — while
// this thread waits for it on a condition variable with the deadline: no polling, and the lock
// is taken the moment it is released. A helper that gets the lock after the deadline drops it.
class FlockGuard {
 public:
  FlockGuard(int fd, const std::string& path, std::chrono::milliseconds timeout, bool* abandoned)
      : fd_(fd), path_(path), timeout_(timeout), abandoned_(abandoned) {}
  FlockGuard(const FlockGuard&) = delete;
  FlockGuard& operator=(const FlockGuard&) = delete;
  ~FlockGuard() {
    if (locked_) ::flock(fd_, LOCK_UN);
  }

  Status Lock() {
    // A helper thread of an earlier timed-out wait may still take and drop the lock on this
    // same open file description, under our feet: such a log is not used again.
    if (*abandoned_) {
      return Error(
          Code::kFailedPrecondition,
          fmt::format("lock audit log `{}`: an earlier wait for its lock timed out", path_));
    }
    int rc;
    while ((rc = ::flock(fd_, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {
    }
    if (rc == 0) {
      locked_ = true;
      return Ok();
    }
    if (errno != EWOULDBLOCK) return Errno(fmt::format("lock audit log `{}`", path_));
    return Wait();
  }

 private:
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    bool abandoned = false;
    int err = 0;
  };

  Status Wait() {
    int dup = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) return Errno(fmt::format("lock audit log `{}`: dup", path_));
    auto w = std::make_shared<Waiter>();
    try {
      std::thread([w, dup] {
        int rc;
        while ((rc = ::flock(dup, LOCK_EX)) != 0 && errno == EINTR) {
        }
        const int err = rc == 0 ? 0 : errno;
        std::lock_guard<std::mutex> hold(w->mu);
        if (w->abandoned && rc == 0) ::flock(dup, LOCK_UN);
        ::close(dup);
        w->done = true;
        w->err = err;
        w->cv.notify_one();
      }).detach();
    } catch (const std::system_error& e) {
      ::close(dup);
      return Error(Code::kInternal,
                   fmt::format("lock audit log `{}`: start a thread to wait: {}", path_, e.what()));
    }
    std::unique_lock<std::mutex> hold(w->mu);
    if (!w->cv.wait_for(hold, timeout_, [&] { return w->done; })) {
      w->abandoned = true;
      *abandoned_ = true;
      return TimedOut();
    }
    if (w->err != 0) return Errno(fmt::format("lock audit log `{}`", path_), w->err);
    locked_ = true;
    return Ok();
  }

  Status TimedOut() const {
    std::string holder = "another process";
    struct stat st;
    if (::fstat(fd_, &st) == 0) {
      std::vector<std::string> names;
      for (pid_t pid : LockHolders(st.st_dev, st.st_ino)) {
        std::string name = ProcessName(pid);
        names.push_back(name.empty() ? fmt::format("pid {}", pid)
                                     : fmt::format("pid {} ({})", pid, name));
      }
      if (!names.empty()) holder = fmt::format("{}", fmt::join(names, ", "));
    }
    const auto ms = timeout_.count();
    return Error(
        Code::kFailedPrecondition,
        fmt::format("lock audit log `{}`: still held by {} after {}: a holder keeps the "
                    "lock only for one append, so it is stuck or not a hive-run; "
                    "nothing can be recorded until it lets go",
                    path_, holder,
                    ms % 1000 == 0 ? fmt::format("{} s", ms / 1000) : fmt::format("{} ms", ms)));
  }

  int fd_;
  const std::string& path_;
  std::chrono::milliseconds timeout_;
  bool* abandoned_;
  bool locked_ = false;
};

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The name /etc/passwd gives `uid`, read directly rather than through NSS: hive-run is linked
// statically, and a root process has no business loading NSS modules. A user known only to a
// directory service is recorded by uid alone.
std::string PasswdName(uid_t uid) {
  Result<std::string> text = ReadFile("/etc/passwd");
  if (!text.ok()) return "";
  const std::string want = std::to_string(uid);
  std::string_view rest = *text;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    const std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    // name:password:uid:gid:gecos:home:shell
    const size_t name_end = line.find(':');
    const size_t uid_start =
        name_end == std::string_view::npos ? name_end : line.find(':', name_end + 1);
    if (uid_start == std::string_view::npos) continue;
    const size_t uid_end = line.find(':', uid_start + 1);
    if (uid_end == std::string_view::npos) continue;
    if (line.substr(uid_start + 1, uid_end - uid_start - 1) == want) {
      return std::string(line.substr(0, name_end));
    }
  }
  return "";
}

size_t DumpedSize(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).size();
}

// Drops a trailing UTF-8 sequence that the cut left incomplete.
void DropIncompleteTail(std::string& s) {
  size_t lead = s.size();
  for (size_t back = 0; back < 4 && lead > 0; ++back) {
    const auto c = static_cast<unsigned char>(s[lead - 1]);
    --lead;
    if ((c & 0xC0) != 0x80) {
      const size_t want = c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
      if (s.size() - lead < want) s.resize(lead);
      return;
    }
  }
}

// `s` cut at a character boundary so that, as a JSON string, it takes at most `max` bytes.
std::string Capped(const std::string& s, size_t max) {
  if (DumpedSize(s) <= max) return s;
  // Escapes make the JSON size of a prefix grow unevenly with its length: a bisection finds the
  // longest prefix that fits, the loop after it settles what a cut character changed.
  size_t fits = 0;
  size_t too_long = s.size();
  while (too_long - fits > 1) {
    const size_t mid = fits + (too_long - fits) / 2;
    (DumpedSize(s.substr(0, mid)) <= max ? fits : too_long) = mid;
  }
  std::string out = s.substr(0, fits);
  DropIncompleteTail(out);
  while (!out.empty() && DumpedSize(out) > max) {
    out.pop_back();
    DropIncompleteTail(out);
  }
  return out;
}

// Who ran and where are recorded in every line; capped so that a line's size is bounded by its
// own fields (kMaxViolationRecordBytes must hold a violation record on any host).
constexpr size_t kMaxIdentityBytes = 66;  // a JSON string of 64 plain characters

nlohmann::json InvokingUser() {
  nlohmann::json user = {{"uid", ::getuid()}};
  if (std::string name = PasswdName(::getuid()); !name.empty()) {
    user["name"] = Capped(name, kMaxIdentityBytes);
  }
  // Through sudo the real person is in the environment; recorded as given, beside the uid the
  // kernel vouches for.
  if (const char* v = std::getenv("SUDO_USER"); v && *v) {
    user["sudo_user"] = Capped(v, kMaxIdentityBytes);
  }
  if (const char* v = std::getenv("SUDO_UID"); v && *v) {
    user["sudo_uid"] = Capped(v, kMaxIdentityBytes);
  }
  return user;
}

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return Capped(buf, kMaxIdentityBytes);
}

// `j` with strings longer than max_string bytes and lists longer than max_items cut, each cut
// marked by "…".
void Shorten(nlohmann::json& j, size_t max_string, size_t max_items) {
  if (j.is_string()) {
    std::string& v = j.get_ref<std::string&>();
    if (DumpedSize(v) > max_string) {
      std::string head = v.substr(0, max_string);
      DropIncompleteTail(head);
      v = Capped(head, max_string) + "…";
    }
  } else if (j.is_array()) {
    if (j.size() > max_items) {
      j.erase(j.begin() + static_cast<std::ptrdiff_t>(max_items), j.end());
      j.push_back("…");
    }
    for (auto& item : j) Shorten(item, max_string, max_items);
  } else if (j.is_object()) {
    for (auto& [name, value] : j.items()) Shorten(value, max_string, max_items);
  }
}

// The longest line `fields` can make for `event`: the largest seq, a torn-write note, two
// signatures.
uint64_t WorstCaseLine(const std::string& event, nlohmann::json fields) {
  RecordHeader h;
  h.seq = std::numeric_limits<uint64_t>::max();
  h.time = "2026-01-01T00:00:00.000Z";
  h.event = event;
  h.key = std::string(64, '0');
  h.prev = std::string(kGenesisPrev);
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  fields["torn"] = {{"offset", kMax}, {"length", kMax}, {"sha256", std::string(64, '0')}};
  return CompleteLine(BuildPrefix(h, fields), std::string(2 * kSigHexLen, '0')).size() + 1;
}

// The caller's members of `fields` shortened; host and user, which the log adds and caps
// itself, stay whole.
void ShortenGiven(nlohmann::json& fields, size_t max_string, size_t max_items) {
  for (auto& [name, value] : fields.items()) {
    if (name != "host" && name != "user") Shorten(value, max_string, max_items);
  }
}

// `fields` shortened, step by step, until a line of them fits in max_line bytes; what was
// given is named by size and hash in `truncated`.
nlohmann::json FitFields(const std::string& event, const nlohmann::json& fields,
                         uint64_t max_line) {
  if (WorstCaseLine(event, fields) <= max_line) return fields;
  const std::string given = fields.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const nlohmann::json note = {{"bytes", given.size()}, {"sha256", Sha256Hex(given)}};
  constexpr std::pair<size_t, size_t> kSteps[] = {
      {4096, 64}, {1024, 16}, {256, 8}, {64, 2}, {16, 0}};
  for (auto [max_string, max_items] : kSteps) {
    nlohmann::json shorter = fields;
    ShortenGiven(shorter, max_string, max_items);
    shorter["truncated"] = note;
    if (WorstCaseLine(event, shorter) <= max_line) return shorter;
  }
  // Too many members even when each is short: keep what identifies the run.
  nlohmann::json kept = {{"truncated", note},
                         {"host", fields.value("host", "")},
                         {"user", fields.value("user", nlohmann::json::object())}};
  for (const char* name : {"run_id", "outcome", "exit_status"}) {
    if (auto it = fields.find(name); it != fields.end()) kept[name] = *it;
  }
  ShortenGiven(kept, 64, 0);
  return kept;
}

// What a failed append took back, for the error message.
std::string Undo(int fd, uint64_t size, bool wrote) {
  if (!wrote) return "";
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    return fmt::format(" (the partial line could not be removed: {})", std::strerror(errno));
  }
  return "";
}

}  // namespace

struct AuditLog::State {
  std::string log_path;
  std::string key_dir;
  UniqueFd fd;
  KeyPair key;
  std::chrono::milliseconds lock_timeout = kLockTimeout;
  bool lock_abandoned = false;  // a timed-out wait's helper thread may still take the lock
  uint64_t reserved = 0;        // bytes Reserve keeps beyond the end of the log
  // Who and where, the same for every record this process appends: read once at Open.
  std::string host;
  nlohmann::json user;

  FlockGuard Guard() { return FlockGuard(fd.get(), log_path, lock_timeout, &lock_abandoned); }

  // Called under the lock. The newest record fixes which key must sign next; a process that
  // opened the log before another one rotated or replaced the key picks the new key up here.
  Status CheckSigningKey(const Tail& tail) {
    HIVE_ASSIGN_OR_RETURN(std::string active, ActiveKey(tail, log_path));
    if (active.empty() || active == key.public_hex) return Ok();
    KeyPaths paths = KeyPathsIn(key_dir);
    Result<KeyPair> current = LoadKeyPair(paths.private_key);
    if (current.ok() && current->public_hex == active) {
      key = current.value();
      return Ok();
    }
    // A rotation that wrote its record but died before installing the new key.
    Result<KeyPair> pending = LoadKeyPair(paths.pending);
    if (pending.ok() && pending->public_hex == active) {
      HIVE_TRY(InstallPendingKey(paths, pending.value()));
      key = pending.value();
      return Ok();
    }
    return Error(
        Code::kFailedPrecondition,
        fmt::format("audit log `{}` is signed by key {} but `{}` {}: restore the matching key; "
                    "if it is lost, `hive-run audit keygen --rotate --lost-key` continues the "
                    "log with {} and records the replacement",
                    log_path, active, paths.private_key,
                    current.ok() ? "holds key " + current->public_hex
                                 : "cannot be used (" + current.status().message() + ")",
                    current.ok() ? "that key" : "a new key"));
  }

  // The log's path must still name the file this process appends to: a record written to a
  // file removed or replaced since the open would be lost to everyone reading the path.
  Status CheckStillAtPath() const {
    struct stat open_st;
    struct stat path_st;
    if (::fstat(fd.get(), &open_st) != 0) return Errno(fmt::format("stat `{}`", log_path));
    if (::lstat(log_path.c_str(), &path_st) != 0 || open_st.st_nlink == 0 ||
        path_st.st_dev != open_st.st_dev || path_st.st_ino != open_st.st_ino) {
      return Error(Code::kFailedPrecondition,
                   fmt::format("audit log `{}` was removed or replaced after this run opened "
                               "it: a record appended now would not be in the log at that path",
                               log_path));
    }
    return Ok();
  }

  // Appends the line `make` builds for the chain position; the caller holds the lock.
  // `replacing_lost_key`: the record is the one that changes the signing key without the key
  // in force, so that key is not looked for.
  template <typename MakeLine>
  Result<RecordRef> AppendHoldingLock(MakeLine make, bool replacing_lost_key = false) {
    HIVE_TRY(CheckStillAtPath());
    HIVE_ASSIGN_OR_RETURN(Tail tail, ReadTail(fd.get(), log_path));
    if (!replacing_lost_key) HIVE_TRY(CheckSigningKey(tail));
    RecordHeader header;
    header.seq = 1;
    header.prev = std::string(kGenesisPrev);
    if (tail.has_line) {
      HIVE_ASSIGN_OR_RETURN(ParsedRecord last, ParseLine(tail.line));
      header.seq = last.seq + 1;
      header.prev = last.hash;
    }
    header.time = Rfc3339Now();
    header.key = key.public_hex;
    nlohmann::json torn = nullptr;
    if (!tail.fragment.empty()) {
      torn = {{"offset", tail.fragment_offset},
              {"length", tail.fragment.size()},
              {"sha256", Sha256Hex(tail.fragment)}};
    }
    HIVE_ASSIGN_OR_RETURN(std::string line, make(header, torn));
    // The torn bytes stay where they are (verify shows them); a newline closes them so that
    // the new record starts on a line of its own.
    const std::string data = (tail.fragment.empty() ? "" : "\n") + line + "\n";
    // One write: O_APPEND puts it at the end, into the space Reserve set aside.
    size_t done = 0;
    int err = 0;
    while (done < data.size()) {
      ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        err = n < 0 ? errno : EIO;
        break;
      }
      done += static_cast<size_t>(n);
    }
    std::string what = "write";
    if (err == 0 && ::fsync(fd.get()) != 0) {
      err = errno;
      what = "fsync";
    }
    if (err != 0) {
      // Still holding the lock: take back whatever part landed, so no torn line is left.
      std::string undo = Undo(fd.get(), tail.size, done > 0);
      if (done > 0 && reserved > 0) {
        // Truncating dropped the space kept beyond the end; set it aside again if there is any.
        (void)::fallocate(fd.get(), FALLOC_FL_KEEP_SIZE, static_cast<off_t>(tail.size),
                          static_cast<off_t>(reserved));
      }
      return Errno(
          fmt::format("append record {} to audit log `{}`: {}{}", header.seq, log_path, what, undo),
          err);
    }
    return RecordRef{log_path, header.seq, LineHash(line)};
  }
};

namespace {

// Opens the log for appending: a regular file, created (and its directory entry made durable)
// when missing.
Result<UniqueFd> OpenLogFile(const std::string& path) {
  HIVE_TRY(EnsureDir(DirName(path), 0700).Wrap(fmt::format("open audit log `{}`", path)));
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return Errno(fmt::format("open audit log `{}` for appending", path));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Errno(fmt::format("stat `{}`", path));
  if (!S_ISREG(st.st_mode)) {
    return Error(Code::kFailedPrecondition,
                 fmt::format("open audit log `{}`: not a regular file", path));
  }
  if (st.st_size == 0) {
    // A new log must survive a crash as a directory entry too, not only as data.
    UniqueFd dir(::open(DirName(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.valid()) ::fsync(dir.get());
  }
  return fd;
}

}  // namespace

AuditLog::AuditLog(std::unique_ptr<State> state) : state_(std::move(state)) {}
AuditLog::AuditLog(AuditLog&&) noexcept = default;
AuditLog& AuditLog::operator=(AuditLog&&) noexcept = default;
AuditLog::~AuditLog() = default;

const std::string& AuditLog::path() const { return state_->log_path; }
const std::string& AuditLog::public_key() const { return state_->key.public_hex; }

Result<AuditLog> AuditLog::Open(const std::string& log_path, const std::string& key_dir,
                                const OpenOptions& options) {
  auto state = std::make_unique<State>();
  state->log_path = AbsolutePath(log_path, "");
  state->key_dir = AbsolutePath(key_dir, "");
  state->lock_timeout = options.lock_timeout;
  const std::string& path = state->log_path;
  auto fail = [&](const Status& s) { return s.Wrap(fmt::format("open audit log `{}`", path)); };

  if (Status s = InitSodium(); !s.ok()) return fail(s);
  HIVE_ASSIGN_OR_RETURN(state->fd, OpenLogFile(path));

  // Keys are made and checked under the log's lock so a concurrent rotation is never half seen.
  FlockGuard lock = state->Guard();
  HIVE_TRY(lock.Lock());
  HIVE_ASSIGN_OR_RETURN(Tail tail, ReadTail(state->fd.get(), path));
  HIVE_ASSIGN_OR_RETURN(std::string log_key, ActiveKey(tail, path));
  Result<KeyPair> key = EnsureKeys(state->key_dir, log_key, path);
  if (!key.ok()) return fail(key.status());
  state->key = key.value();
  state->host = HostName();
  state->user = InvokingUser();
  HIVE_TRY(state->CheckSigningKey(tail));
  return AuditLog(std::move(state));
}

Status AuditLog::Reserve(uint64_t bytes) {
  State& s = *state_;
  FlockGuard lock = s.Guard();
  HIVE_TRY(lock.Lock());
  struct stat st;
  if (::fstat(s.fd.get(), &st) != 0) return Errno(fmt::format("stat `{}`", s.log_path));
  auto fail = [&](int err) {
    return Errno(fmt::format("reserve {} bytes at the end of audit log `{}` for the run's "
                             "records",
                             bytes, s.log_path),
                 err);
  };
  // KEEP_SIZE: the blocks belong to the log but readers still see its old end; appends fill
  // them. Blocks already there (an earlier reservation) are kept, not added to.
  if (::fallocate(s.fd.get(), FALLOC_FL_KEEP_SIZE, st.st_size, static_cast<off_t>(bytes)) != 0) {
    if (errno != EOPNOTSUPP) return fail(errno);
    // A filesystem that cannot preallocate: at least the space must be free now.
    struct statvfs vfs;
    if (::fstatvfs(s.fd.get(), &vfs) != 0) return fail(errno);
    if (static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize < bytes) return fail(ENOSPC);
  }
  s.reserved = std::max(s.reserved, bytes);
  return Ok();
}

Result<RecordRef> AuditLog::Append(const std::string& event, nlohmann::json fields,
                                   uint64_t max_line_bytes) {
  if (fields.is_null()) fields = nlohmann::json::object();
  if (!fields.is_object()) {
    return Error(Code::kInvalidArgument,
                 fmt::format("append `{}` record: fields must be a JSON object", event));
  }
  if (std::find(std::begin(kAppendEvents), std::end(kAppendEvents), event) ==
      std::end(kAppendEvents)) {
    return Error(Code::kInvalidArgument,
                 fmt::format("append `{}` record: unknown event (run, violation, refused)", event));
  }
  for (std::string_view name : kReservedFields) {
    if (fields.contains(name)) {
      return Error(
          Code::kInvalidArgument,
          fmt::format("append `{}` record: field `{}` is written by the log itself", event, name));
    }
  }
  fields["host"] = state_->host;
  fields["user"] = state_->user;
  fields = FitFields(event, fields, max_line_bytes);
  FlockGuard lock = state_->Guard();
  HIVE_TRY(lock.Lock());
  return state_->AppendHoldingLock(
      [&](RecordHeader& header, const nlohmann::json& torn) -> Result<std::string> {
        header.event = event;
        if (!torn.is_null()) fields["torn"] = torn;
        std::string prefix = BuildPrefix(header, fields);
        return CompleteLine(prefix, SignHex(state_->key, prefix));
      });
}

Result<RecordRef> AuditLog::RotateKey() {
  State& s = *state_;
  KeyPaths paths = KeyPathsIn(s.key_dir);
  KeyPair next = GenerateKeyPair();
  KeyPair old;
  FlockGuard lock = s.Guard();
  HIVE_TRY(lock.Lock());
  Result<RecordRef> ref = s.AppendHoldingLock(
      [&](RecordHeader& header, const nlohmann::json& torn) -> Result<std::string> {
        // Parked before the record names it: a crash after the record finishes the rotation
        // on the next open instead of leaving a log nobody can extend.
        HIVE_TRY(ReplaceKeyFile(paths.pending, next.seed_hex + "\n", 0600));
        old = s.key;
        header.event = std::string(kKeyRotated);
        nlohmann::json fields = {{"host", s.host}, {"user", s.user}, {"new_key", next.public_hex}};
        if (!torn.is_null()) fields["torn"] = torn;
        std::string prefix = BuildPrefix(header, fields);
        // Both keys sign the same bytes: the old key hands over, the new one proves it is
        // held, so either public key alone authenticates the chain up to this record.
        return CompleteLine(prefix, SignHex(old, prefix) + SignHex(next, prefix));
      });
  if (!ref.ok()) {
    ::unlink(paths.pending.c_str());
    return ref.status().Wrap("rotate audit key");
  }
  // Installed before the lock is released, so the next appender signs with the new key; a
  // crash right here is finished by CheckSigningKey from audit.key.new.
  HIVE_TRY(InstallPendingKey(paths, next).Wrap("rotate audit key"));
  s.key = next;
  return ref;
}

Result<KeyReplacement> AuditLog::ReplaceLostKey(const std::string& log_path,
                                                const std::string& key_dir,
                                                const OpenOptions& options) {
  auto state = std::make_unique<State>();
  State& s = *state;
  s.log_path = AbsolutePath(log_path, "");
  s.key_dir = AbsolutePath(key_dir, "");
  s.lock_timeout = options.lock_timeout;
  auto fail = [&](const Status& st) { return st.Wrap("replace lost audit key"); };
  if (Status st = InitSodium(); !st.ok()) return fail(st);
  if (Status st = EnsureDir(s.key_dir, 0700); !st.ok()) return fail(st);
  HIVE_ASSIGN_OR_RETURN(s.fd, OpenLogFile(s.log_path));
  FlockGuard lock = s.Guard();
  HIVE_TRY(lock.Lock());
  SweepStaleTemporaries(s.key_dir);
  HIVE_ASSIGN_OR_RETURN(Tail tail, ReadTail(s.fd.get(), s.log_path));
  HIVE_ASSIGN_OR_RETURN(std::string lost, ActiveKey(tail, s.log_path));
  const KeyPaths paths = KeyPathsIn(s.key_dir);
  Result<KeyPair> current = LoadKeyPair(paths.private_key);
  if (!current.ok() && current.status().code() != Code::kNotFound) {
    return fail(current.status().Wrap("the key in its place cannot be used"));
  }
  if (current.ok() && current->public_hex == lost) {
    return fail(Error(Code::kFailedPrecondition,
                      fmt::format("the log's key {} is not lost: `{}` holds it; `hive-run audit "
                                  "keygen --rotate` replaces it with the old key's consent",
                                  lost, paths.private_key)));
  }
  if (Result<KeyPair> pending = LoadKeyPair(paths.pending);
      pending.ok() && !lost.empty() && pending->public_hex == lost) {
    return fail(Error(Code::kFailedPrecondition,
                      fmt::format("the log's key {} is not lost: `{}` holds it (an interrupted "
                                  "key change, finished by the next run or `hive-run audit "
                                  "keygen --rotate`)",
                                  lost, paths.pending)));
  }
  KeyReplacement out;
  out.lost_key = lost;
  out.adopted = current.ok();
  s.key = current.ok() ? current.value() : GenerateKeyPair();
  out.new_key = s.key.public_hex;
  if (lost.empty()) {
    // No record signed by any key: nothing to break, only the key files to make.
    if (!out.adopted) {
      Result<KeyPair> made = CreateKeyFileOnce(paths.private_key, s.key);
      if (!made.ok()) return fail(made.status());
      s.key = made.value();
      out.new_key = s.key.public_hex;
    }
    if (Status st = WritePublicKey(paths.public_key, s.key); !st.ok()) return fail(st);
    return out;
  }
  s.host = HostName();
  s.user = InvokingUser();
  Result<RecordRef> ref = s.AppendHoldingLock(
      [&](RecordHeader& header, const nlohmann::json& torn) -> Result<std::string> {
        // As in RotateKey: parked before the record names it, so a crash after the record is
        // finished by the next open.
        if (!out.adopted) HIVE_TRY(ReplaceKeyFile(paths.pending, s.key.seed_hex + "\n", 0600));
        header.event = std::string(kKeyReplaced);
        nlohmann::json fields = {{"host", s.host}, {"user", s.user}, {"lost_key", lost}};
        if (!torn.is_null()) fields["torn"] = torn;
        std::string prefix = BuildPrefix(header, fields);
        // Only the new key can sign: the lost one cannot hand over. Verification therefore
        // shows a trust break here (hive-run-audit(5)).
        return CompleteLine(prefix, SignHex(s.key, prefix));
      },
      /*replacing_lost_key=*/true);
  if (!ref.ok()) {
    if (!out.adopted) ::unlink(paths.pending.c_str());
    return fail(ref.status());
  }
  Status installed =
      out.adopted ? WritePublicKey(paths.public_key, s.key) : InstallPendingKey(paths, s.key);
  if (!installed.ok()) return fail(installed);
  out.record = ref.value();
  return out;
}

}  // namespace hive::audit
