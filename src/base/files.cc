#include "base/files.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <ctime>

#include <fmt/format.h>

#include "base/unique_fd.h"

namespace hive {

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
