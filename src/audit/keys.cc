#include "audit/keys.h"

#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <memory>
#include <optional>
#include <utility>

#include "audit/record.h"
#include "base/files.h"
#include "base/unique_fd.h"
#include "hive/audit.h"
#include "hive/state_dir.h"

namespace hive::audit {
namespace {

std::string ToHex(const unsigned char* bytes, size_t n) {
  std::string hex(2 * n + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), bytes, n);
  hex.pop_back();
  return hex;
}

bool FromHex(std::string_view hex, unsigned char* out, size_t n) {
  size_t len = 0;
  return hex.size() == 2 * n &&
         sodium_hex2bin(out, n, hex.data(), hex.size(), nullptr, &len, nullptr) == 0 && len == n;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

KeyPair FromSeed(const unsigned char* seed) {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(pk, sk, seed);
  KeyPair k{ToHex(seed, crypto_sign_SEEDBYTES), ToHex(pk, sizeof pk)};
  sodium_memzero(sk, sizeof sk);
  return k;
}

bool IsPublicKeyHex(std::string_view s) {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  return FromHex(s, pk, sizeof pk);
}

std::string DirName(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

void FsyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid()) ::fsync(fd.get());
}

// A key file written in full, with exactly its final mode (the umask applies to open(2), not
// to fchmod(2)), before it has its final name. Unnamed (O_TMPFILE) where the filesystem allows,
// so that not even a killed hive-run leaves it behind; elsewhere (overlayfs before Linux 6.6)
// under `NAME.tmp.PID`, which SweepStaleTemporaries removes once PID is gone.
class KeyFileWriter {
 public:
  KeyFileWriter(const KeyFileWriter&) = delete;
  KeyFileWriter& operator=(const KeyFileWriter&) = delete;
  ~KeyFileWriter() {
    if (!tmp_.empty()) ::unlink(tmp_.c_str());
  }

  static Result<std::unique_ptr<KeyFileWriter>> Write(const std::string& path,
                                                      const std::string& data, mode_t mode) {
    std::unique_ptr<KeyFileWriter> w(new KeyFileWriter());
    w->fd_.Reset(::open(DirName(path).c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, mode));
    if (!w->fd_.valid()) {
      if (errno != EOPNOTSUPP && errno != EISDIR) {
        return Errno(fmt::format("write `{}`: create an unnamed file beside it", path));
      }
      w->tmp_ = fmt::format("{}.tmp.{}", path, ::getpid());
      ::unlink(w->tmp_.c_str());
      w->fd_.Reset(::open(w->tmp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
      if (!w->fd_.valid()) {
        std::string tmp = std::exchange(w->tmp_, "");
        return Errno(fmt::format("write `{}`: create `{}`", path, tmp));
      }
    }
    if (::fchmod(w->fd_.get(), mode) != 0) return Errno(fmt::format("write `{}`: fchmod", path));
    HIVE_TRY(WriteAll(w->fd_.get(), data, path));
    if (::fsync(w->fd_.get()) != 0) return Errno(fmt::format("fsync `{}`", path));
    return w;
  }

  // Gives the file the name `path` unless that exists (EEXIST); 0 or the errno.
  int LinkAs(const std::string& path) {
    if (!tmp_.empty()) return ::link(tmp_.c_str(), path.c_str()) == 0 ? 0 : errno;
    // Through /proc/self/fd, which needs no privilege; AT_EMPTY_PATH (CAP_DAC_READ_SEARCH)
    // when /proc is not mounted.
    std::string proc = fmt::format("/proc/self/fd/{}", fd_.get());
    if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) == 0) {
      return 0;
    }
    if (errno != ENOENT) return errno;
    return ::linkat(fd_.get(), "", AT_FDCWD, path.c_str(), AT_EMPTY_PATH) == 0 ? 0 : errno;
  }

  // Replaces `path` with the file atomically.
  Status ReplaceAs(const std::string& path) {
    if (tmp_.empty()) {
      // rename(2) needs a name: the file gets one only now, complete and with its mode.
      std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
      ::unlink(tmp.c_str());
      if (int err = LinkAs(tmp); err != 0) {
        return Errno(fmt::format("write `{}`: link `{}`", path, tmp), err);
      }
      tmp_ = tmp;
    }
    if (::rename(tmp_.c_str(), path.c_str()) != 0) {
      return Errno(fmt::format("rename `{}` to `{}`", tmp_, path));
    }
    tmp_.clear();
    return Ok();
  }

 private:
  KeyFileWriter() = default;

  UniqueFd fd_;
  std::string tmp_;  // the file's temporary name; empty while it is unnamed
};

// The PID in a `NAME.tmp.PID` file name.
std::optional<pid_t> TemporaryOwner(std::string_view name) {
  size_t dot = name.rfind(".tmp.");
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  std::string_view digits = name.substr(dot + 5);
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), pid);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || pid <= 0) {
    return std::nullopt;
  }
  return pid;
}

Status MissingKeyError(const KeyPaths& paths, const std::string& log_key,
                       const std::string& log_path, const Result<std::string>& pub) {
  std::string why = !log_key.empty()
                        ? fmt::format("audit log `{}` is signed by key {}", log_path, log_key)
                        : fmt::format("its public half `{}` (key {}) exists", paths.public_key,
                                      Trim(pub.value()));
  return Error(Code::kFailedPrecondition,
               fmt::format("signing key `{}` is missing, but {}: a new key would silently break "
                           "the log's trust chain. Restore audit.key from a backup; if it is "
                           "lost, `hive-run audit keygen --rotate --lost-key` makes a new key "
                           "and records the replacement in the log",
                           paths.private_key, why));
}

}  // namespace

KeyPaths KeyPathsIn(const std::string& key_dir) {
  return {key_dir + "/audit.key", key_dir + "/audit.pub", key_dir + "/audit.key.new"};
}

Status InitSodium() {
  if (sodium_init() < 0) return Error(Code::kInternal, "initialise libsodium: sodium_init failed");
  return Ok();
}

KeyPair GenerateKeyPair() {
  unsigned char seed[crypto_sign_SEEDBYTES];
  randombytes_buf(seed, sizeof seed);
  KeyPair k = FromSeed(seed);
  sodium_memzero(seed, sizeof seed);
  return k;
}

Result<KeyPair> LoadKeyPair(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Errno(fmt::format("read signing key `{}`", path));
  // Like ssh: a private key others can read is not private any more, so it is not used.
  if (st.st_mode & 077) {
    return Error(Code::kPermissionDenied,
                 fmt::format("signing key `{}` is readable by others (mode {:04o}): chmod 600 it",
                             path, st.st_mode & 07777));
  }
  HIVE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  unsigned char seed[crypto_sign_SEEDBYTES];
  if (!FromHex(Trim(std::move(text)), seed, sizeof seed)) {
    return Error(Code::kInvalidArgument,
                 fmt::format("signing key `{}`: expected 64 hex digits (an Ed25519 seed)", path));
  }
  KeyPair k = FromSeed(seed);
  sodium_memzero(seed, sizeof seed);
  return k;
}

Result<KeyPair> CreateKeyFileOnce(const std::string& path, const KeyPair& key) {
  // Linked into place only when complete: link fails with EEXIST when another process got
  // there first, and nobody ever reads a half-written key.
  HIVE_ASSIGN_OR_RETURN(auto file, KeyFileWriter::Write(path, key.seed_hex + "\n", 0600));
  int err = file->LinkAs(path);
  if (err == EEXIST) return LoadKeyPair(path);
  if (err != 0) return Errno(fmt::format("install signing key `{}`", path), err);
  // The key signs records that outlive a crash; so must its directory entry.
  FsyncDir(DirName(path));
  return key;
}

Status ReplaceKeyFile(const std::string& path, const std::string& data, mode_t mode) {
  HIVE_ASSIGN_OR_RETURN(auto file, KeyFileWriter::Write(path, data, mode));
  HIVE_TRY(file->ReplaceAs(path));
  FsyncDir(DirName(path));
  return Ok();
}

Status WritePublicKey(const std::string& path, const KeyPair& key) {
  return ReplaceKeyFile(path, key.public_hex + "\n", 0644);
}

Status InstallPendingKey(const KeyPaths& paths, const KeyPair& key) {
  if (::rename(paths.pending.c_str(), paths.private_key.c_str()) != 0) {
    return Errno(
        fmt::format("finish key change: rename `{}` to `{}`", paths.pending, paths.private_key));
  }
  return WritePublicKey(paths.public_key, key);
}

void SweepStaleTemporaries(const std::string& key_dir) {
  DIR* d = ::opendir(key_dir.c_str());
  if (d == nullptr) return;
  const pid_t self = ::getpid();
  while (const struct dirent* e = ::readdir(d)) {
    std::optional<pid_t> pid = TemporaryOwner(e->d_name);
    // kill(pid, 0) fails with ESRCH only when no such process exists; EPERM means it lives.
    if (!pid || *pid == self || ::kill(*pid, 0) == 0 || errno != ESRCH) continue;
    ::unlinkat(::dirfd(d), e->d_name, 0);
  }
  ::closedir(d);
}

std::string SignHex(const KeyPair& key, std::string_view message) {
  unsigned char seed[crypto_sign_SEEDBYTES];
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  FromHex(key.seed_hex, seed, sizeof seed);
  crypto_sign_seed_keypair(pk, sk, seed);
  unsigned char sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, nullptr, reinterpret_cast<const unsigned char*>(message.data()),
                       message.size(), sk);
  sodium_memzero(sk, sizeof sk);
  sodium_memzero(seed, sizeof seed);
  return ToHex(sig, sizeof sig);
}

bool VerifySignature(std::string_view public_hex, std::string_view message,
                     std::string_view sig_hex) {
  unsigned char pk[crypto_sign_PUBLICKEYBYTES];
  unsigned char sig[crypto_sign_BYTES];
  if (!FromHex(public_hex, pk, sizeof pk) || !FromHex(sig_hex, sig, sizeof sig)) return false;
  return crypto_sign_verify_detached(sig, reinterpret_cast<const unsigned char*>(message.data()),
                                     message.size(), pk) == 0;
}

Result<std::string> LoadPublicKey(const std::string& path_or_hex) {
  if (::access(path_or_hex.c_str(), F_OK) != 0 && IsPublicKeyHex(path_or_hex)) {
    return path_or_hex;
  }
  HIVE_ASSIGN_OR_RETURN(std::string text, ReadInputFile(path_or_hex, kPublicKeyInput));
  text = Trim(std::move(text));
  if (!IsPublicKeyHex(text)) {
    return Error(Code::kInvalidArgument,
                 fmt::format("public key `{}`: expected 64 hex digits (an Ed25519 public key)",
                             path_or_hex));
  }
  return text;
}

Result<std::string> EnsureKeyPair(const std::string& key_dir, const std::string& log_path,
                                  bool* created) {
  HIVE_TRY(InitSodium());
  // The log's newest record says which key continues it; no log is a log without records.
  std::string log_key;
  UniqueFd fd(::open(log_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.valid()) {
    HIVE_ASSIGN_OR_RETURN(Tail tail, ReadTail(fd.get(), log_path));
    HIVE_ASSIGN_OR_RETURN(log_key, ActiveKey(tail, log_path));
  } else if (errno != ENOENT) {
    return Errno(fmt::format("open audit log `{}`", log_path));
  }
  HIVE_ASSIGN_OR_RETURN(KeyPair key, EnsureKeys(key_dir, log_key, log_path, created));
  return key.public_hex;
}

Result<KeyPair> EnsureKeys(const std::string& key_dir, const std::string& log_key,
                           const std::string& log_path, bool* created) {
  HIVE_TRY(InitSodium());
  HIVE_TRY(EnsureDir(key_dir, 0700));
  SweepStaleTemporaries(key_dir);
  KeyPaths paths = KeyPathsIn(key_dir);
  if (created) *created = false;
  Result<KeyPair> key = LoadKeyPair(paths.private_key);
  if (!key.ok() && key.status().code() == Code::kNotFound) {
    // A key change that wrote its record but died before installing the key it names.
    if (!log_key.empty()) {
      Result<KeyPair> pending = LoadKeyPair(paths.pending);
      if (pending.ok() && pending->public_hex == log_key) {
        HIVE_TRY(InstallPendingKey(paths, pending.value()));
        return pending;
      }
    }
    Result<std::string> pub = ReadFile(paths.public_key);
    if (!log_key.empty() || pub.ok()) return MissingKeyError(paths, log_key, log_path, pub);
    key = CreateKeyFileOnce(paths.private_key, GenerateKeyPair());
    if (created && key.ok()) *created = true;
  }
  if (!key.ok()) return key.status();
  // audit.pub is derived data: rewritten when missing or stale, never trusted over audit.key.
  Result<std::string> pub = ReadFile(paths.public_key);
  if (!pub.ok() || Trim(pub.value()) != key->public_hex) {
    HIVE_TRY(WritePublicKey(paths.public_key, key.value()));
  }
  return key;
}

}  // namespace hive::audit
