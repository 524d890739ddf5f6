// AuditLog: appending signed, chained records (see record.h for the bytes).
//
// Every append happens under an exclusive flock on the log itself: read the tail, take seq and
// prev from the newest record, write the new line with one write() on an O_APPEND descriptor,
// fsync, unlock. Concurrent hive-run processes therefore serialise on the file, and a crash
// can at worst leave an unterminated last line, which the next append closes and records.
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "audit/keys.h"
#include "audit/record.h"
#include "base/files.h"
#include "base/unique_fd.h"
#include "hive/audit.h"
#include "hive/state_dir.h"

namespace hive::audit {
namespace {

constexpr std::string_view kAppendEvents[] = {"run", "violation", "refused"};

class FlockGuard {
 public:
  explicit FlockGuard(int fd) : fd_(fd) {}
  FlockGuard(const FlockGuard&) = delete;
  FlockGuard& operator=(const FlockGuard&) = delete;
  ~FlockGuard() {
    if (locked_) ::flock(fd_, LOCK_UN);
  }
  Status Lock(const std::string& path) {
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) return Errno(fmt::format("lock audit log `{}`", path));
    }
    locked_ = true;
    return Ok();
  }

 private:
  int fd_;
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

nlohmann::json InvokingUser() {
  nlohmann::json user = {{"uid", ::getuid()}};
  if (std::string name = PasswdName(::getuid()); !name.empty()) user["name"] = name;
  // Through sudo the real person is in the environment; recorded as given, beside the uid the
  // kernel vouches for.
  if (const char* v = std::getenv("SUDO_USER"); v && *v) user["sudo_user"] = v;
  if (const char* v = std::getenv("SUDO_UID"); v && *v) user["sudo_uid"] = v;
  return user;
}

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

// The key that must sign the next record: the newest record's, or the one it rotated to.
Result<std::string> ActiveKey(const Tail& tail, const std::string& path) {
  if (!tail.has_line) return std::string();
  Result<ParsedRecord> last = ParseLine(tail.line);
  if (!last.ok()) {
    return Error(Code::kFailedPrecondition,
                 fmt::format("audit log `{}`: the last record (byte {}) cannot be read ({}); "
                             "check it with `hive-run audit verify --log {}`",
                             path, tail.line_offset, last.status().message(), path));
  }
  return last->event == kKeyRotated ? last->new_key : last->key;
}

}  // namespace

struct AuditLog::State {
  std::string log_path;
  std::string key_dir;
  UniqueFd fd;
  KeyPair key;
  // Who and where, the same for every record this process appends: read once at Open.
  std::string host;
  nlohmann::json user;

  // Called under the lock. The newest record fixes which key must sign next; a process that
  // opened the log before another one rotated the key picks the new key up here.
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
      if (::rename(paths.pending.c_str(), paths.private_key.c_str()) != 0) {
        return Errno(fmt::format("finish key rotation: rename `{}` to `{}`", paths.pending,
                                 paths.private_key));
      }
      HIVE_TRY(WritePublicKey(paths.public_key, pending.value()));
      key = pending.value();
      return Ok();
    }
    return Error(Code::kFailedPrecondition,
                 fmt::format("audit log `{}` is signed by key {} but `{}` holds key {}: restore "
                             "the matching key or start a new log",
                             log_path, active, paths.private_key,
                             current.ok() ? current->public_hex : "(unreadable)"));
  }

  // Appends the line `make` builds for the chain position; the caller holds the lock.
  template <typename MakeLine>
  Result<RecordRef> AppendHoldingLock(MakeLine make) {
    HIVE_ASSIGN_OR_RETURN(Tail tail, ReadTail(fd.get(), log_path));
    HIVE_TRY(CheckSigningKey(tail));
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
    std::string data = (tail.fragment.empty() ? "" : "\n") + line + "\n";
    Status written = WriteAll(fd.get(), data, log_path);
    if (written.ok() && ::fsync(fd.get()) != 0) {
      written = Errno(fmt::format("fsync audit log `{}`", log_path));
    }
    if (!written.ok()) {
      // Still holding the lock: take back whatever part landed, so no torn line is left.
      if (::ftruncate(fd.get(), static_cast<off_t>(tail.size)) != 0) {
        return written.Wrap(
            fmt::format("append record {} (the partial line could not be "
                        "removed: {})",
                        header.seq, std::strerror(errno)));
      }
      return written.Wrap(fmt::format("append record {}", header.seq));
    }
    return RecordRef{log_path, header.seq, LineHash(line)};
  }
};

AuditLog::AuditLog(std::unique_ptr<State> state) : state_(std::move(state)) {}
AuditLog::AuditLog(AuditLog&&) noexcept = default;
AuditLog& AuditLog::operator=(AuditLog&&) noexcept = default;
AuditLog::~AuditLog() = default;

const std::string& AuditLog::path() const { return state_->log_path; }
const std::string& AuditLog::public_key() const { return state_->key.public_hex; }

Result<AuditLog> AuditLog::Open(const std::string& log_path, const std::string& key_dir) {
  auto state = std::make_unique<State>();
  state->log_path = AbsolutePath(log_path, "");
  state->key_dir = AbsolutePath(key_dir, "");
  const std::string& path = state->log_path;
  auto fail = [&](const Status& s) { return s.Wrap(fmt::format("open audit log `{}`", path)); };

  if (Status s = InitSodium(); !s.ok()) return fail(s);
  if (Status s = EnsureDir(DirName(path), 0700); !s.ok()) return fail(s);
  state->fd.Reset(::open(path.c_str(), O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!state->fd.valid()) return Errno(fmt::format("open audit log `{}` for appending", path));
  struct stat st;
  if (::fstat(state->fd.get(), &st) != 0) return Errno(fmt::format("stat `{}`", path));
  if (!S_ISREG(st.st_mode)) {
    return Error(Code::kFailedPrecondition,
                 fmt::format("open audit log `{}`: not a regular file", path));
  }
  if (st.st_size == 0) {
    // A new log must survive a crash as a directory entry too, not only as data.
    UniqueFd dir(::open(DirName(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.valid()) ::fsync(dir.get());
  }

  // Keys are made and checked under the log's lock so a concurrent rotation is never half seen.
  FlockGuard lock(state->fd.get());
  if (Status s = lock.Lock(path); !s.ok()) return s;
  Result<KeyPair> key = EnsureKeys(state->key_dir);
  if (!key.ok()) return fail(key.status());
  state->key = key.value();
  state->host = HostName();
  state->user = InvokingUser();
  Result<Tail> tail = ReadTail(state->fd.get(), path);
  if (!tail.ok()) return tail.status();
  if (Status s = state->CheckSigningKey(tail.value()); !s.ok()) return s;
  return AuditLog(std::move(state));
}

Result<RecordRef> AuditLog::Append(const std::string& event, nlohmann::json fields) {
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
  FlockGuard lock(state_->fd.get());
  HIVE_TRY(lock.Lock(state_->log_path));
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
  FlockGuard lock(s.fd.get());
  HIVE_TRY(lock.Lock(s.log_path));
  Result<RecordRef> ref = s.AppendHoldingLock(
      [&](RecordHeader& header, const nlohmann::json& torn) -> Result<std::string> {
        // Parked before the record names it: a crash after the record finishes the rotation
        // on the next open instead of leaving a log nobody can extend.
        HIVE_TRY(WriteFileAtomic(paths.pending, next.seed_hex + "\n", 0600));
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
  if (::rename(paths.pending.c_str(), paths.private_key.c_str()) != 0) {
    return Errno(
        fmt::format("rotate audit key: rename `{}` to `{}`", paths.pending, paths.private_key));
  }
  HIVE_TRY(WritePublicKey(paths.public_key, next));
  s.key = next;
  return ref;
}

}  // namespace hive::audit
