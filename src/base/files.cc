#include "base/files.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sodium.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <ctime>

#include <fmt/format.h>

#include "base/log.h"

namespace hive {
namespace {

// A control file's value on one line of a log: "0 1879048192 65536" for an id map.
std::string Trimmed(const std::string& data) {
  std::string out = data;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  for (char& c : out) {
    if (c == '\n') c = ';';
  }
  return out;
}

}  // namespace
namespace {

// O_NONBLOCK: opening a FIFO must not wait for a writer; regular files ignore the flag.
constexpr int kInputOpenFlags = O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;

const char* FileTypeName(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

Status CheckInput(int fd, const std::string& path, const InputKind& kind) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Errno(fmt::format("{} `{}`: fstat", kind.what, path));
  if (!S_ISREG(st.st_mode)) {
    return Error(Code::kInvalidArgument, fmt::format("{} `{}` is {}, not a regular file", kind.what,
                                                     path, FileTypeName(st.st_mode)));
  }
  if (static_cast<uint64_t>(st.st_size) > kind.max_bytes) {
    return Error(Code::kInvalidArgument,
                 fmt::format("{} `{}` is {} bytes, more than the limit of {} bytes for a {}",
                             kind.what, path, st.st_size, kind.max_bytes, kind.what));
  }
  return Ok();
}

// Reads at most kind.max_bytes + 1 bytes: a file that grew past the cap after the fstat is
// refused too, without reading the rest of it.
Result<std::string> ReadCapped(int fd, const std::string& path, const InputKind& kind) {
  struct stat st;
  size_t hint = ::fstat(fd, &st) == 0 ? static_cast<size_t>(st.st_size) : 0;
  const size_t limit = kind.max_bytes + 1;
  std::string out;
  out.resize(std::min(hint + 1, limit));
  size_t have = 0;
  for (;;) {
    if (have == out.size()) {
      if (out.size() == limit) break;
      out.resize(std::min(std::max<size_t>(out.size() * 2, 4096), limit));
    }
    ssize_t n = ::read(fd, out.data() + have, out.size() - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(fmt::format("read {} `{}`", kind.what, path));
    }
    if (n == 0) break;
    have += static_cast<size_t>(n);
  }
  if (have > kind.max_bytes) {
    return Error(Code::kInvalidArgument,
                 fmt::format("{} `{}` is more than the limit of {} bytes for a {}", kind.what, path,
                             kind.max_bytes, kind.what));
  }
  out.resize(have);
  return out;
}

}  // namespace

Result<UniqueFd> OpenInputFile(const std::string& path, const InputKind& kind) {
  UniqueFd fd(::open(path.c_str(), kInputOpenFlags));
  if (!fd.valid()) return Errno(fmt::format("open {} `{}`", kind.what, path));
  HIVE_TRY(CheckInput(fd.get(), path, kind));
  return fd;
}

Result<std::string> ReadInputFile(const std::string& path, const InputKind& kind) {
  HIVE_ASSIGN_OR_RETURN(UniqueFd fd, OpenInputFile(path, kind));
  return ReadCapped(fd.get(), path, kind);
}

Result<UniqueFd> OpenInputFileBeneath(int dir_fd, const std::string& dir, const std::string& name,
                                      const InputKind& kind) {
  const std::string path = dir + "/" + name;
  open_how how{};
  how.flags = kInputOpenFlags;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, dir_fd, name.c_str(), &how, sizeof how)));
  if (!fd.valid() && errno == ENOSYS) {
    // Kernels before 5.6: no symlink is followed at all, which is stricter still.
    fd.Reset(::openat(dir_fd, name.c_str(), kInputOpenFlags | O_NOFOLLOW));
  }
  if (!fd.valid()) {
    if (errno == EXDEV || errno == ELOOP) {
      return Error(Code::kPermissionDenied,
                   fmt::format("{} `{}` leads outside `{}` (a symlink?); refusing to read it",
                               kind.what, path, dir));
    }
    return Errno(fmt::format("open {} `{}`", kind.what, path));
  }
  HIVE_TRY(CheckInput(fd.get(), path, kind));
  return fd;
}

Result<std::string> ReadInputFileBeneath(int dir_fd, const std::string& dir,
                                         const std::string& name, const InputKind& kind) {
  HIVE_ASSIGN_OR_RETURN(UniqueFd fd, OpenInputFileBeneath(dir_fd, dir, name, kind));
  return ReadCapped(fd.get(), dir + "/" + name, kind);
}

Result<std::string> ReadFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Errno(fmt::format("open `{}`", path));
  // Sized by fstat where the file knows its size (/proc and cgroup files say 0), so that the
  // common case is one read into the string itself and one more that finds the end, both
  // within the capacity reserved here.
  constexpr size_t kChunk = 4096;
  struct stat st;
  size_t want =
      ::fstat(fd.get(), &st) == 0 && st.st_size > 0 ? static_cast<size_t>(st.st_size) + 1 : kChunk;
  std::string out;
  out.reserve(want + kChunk);
  for (;;) {
    const size_t have = out.size();
    out.resize(have + want);
    ssize_t n = ::read(fd.get(), out.data() + have, want);
    if (n < 0) {
      if (errno == EINTR) {
        out.resize(have);
        continue;
      }
      return Errno(fmt::format("read `{}`", path));
    }
    out.resize(have + static_cast<size_t>(n));
    if (n == 0) break;
    want = kChunk;
  }
  return out;
}

Status WriteAll(int fd, const std::string& data, const std::string& what) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(fmt::format("write `{}`", what));
    }
    off += static_cast<size_t>(n);
  }
  return Ok();
}

Status WriteControlFile(const std::string& path, const std::string& data) {
  // One write(2): the kernel parses each write as a whole. O_TRUNC is a no-op on procfs and
  // cgroupfs (as for `echo >`) and makes a test's fixture file show the last value written.
  HIVE_LOG(kDebug, "write `{}` to `{}`", Trimmed(data), path);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
  if (!fd.valid()) return Errno(fmt::format("open `{}` to write `{}`", path, data));
  ssize_t n = ::write(fd.get(), data.data(), data.size());
  if (n < 0) return Errno(fmt::format("write `{}` to `{}`", data, path));
  return Ok();
}

Status WriteFileAtomic(const std::string& path, const std::string& data, mode_t mode, Sync sync) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
    if (!fd.valid()) return Errno(fmt::format("create `{}`", tmp));
    Status s = WriteAll(fd.get(), data, tmp);
    if (s.ok() && sync == Sync::kDurable && ::fsync(fd.get()) != 0) {
      s = Errno(fmt::format("fsync `{}`", tmp));
    }
    if (!s.ok()) {
      ::unlink(tmp.c_str());
      return s;
    }
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    Status s = Errno(fmt::format("rename `{}` to `{}`", tmp, path));
    ::unlink(tmp.c_str());
    return s;
  }
  return Ok();
}

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  char hex[crypto_hash_sha256_BYTES * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

std::string Rfc3339Now() {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms % 1000);
}

}  // namespace hive
