// hive::Status and hive::Result<T>: how every parent-side function reports failure.
//
// A Status carries a code, the errno when a system call failed, and a message that grows
// context on the way up ("prepare rootfs: mount `/proc`: Operation not permitted").
//
//   hive::Result<int> OpenConfig(const std::string& path);
//   HIVE_ASSIGN_OR_RETURN(int fd, OpenConfig(path));
//   HIVE_TRY(WriteMaps(pid));
//   return hive::Errno("open `" + path + "`");   // uses the current errno
#pragma once

#include <cerrno>
#include <string>
#include <utility>
#include <variant>

namespace hive {

enum class Code {
  kOk = 0,
  kInvalidArgument,
  kFailedPrecondition,
  kNotFound,
  kPermissionDenied,
  kUnsupported,
  kInternal,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message, int err = 0)
      : code_(code), err_(err), message_(std::move(message)) {}

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  int err() const { return err_; }
  const std::string& message() const { return message_; }

  // "context: message"; the code and errno are kept.
  Status Wrap(const std::string& context) const& {
    return ok() ? *this : Status(code_, context + ": " + message_, err_);
  }

 private:
  Code code_ = Code::kOk;
  int err_ = 0;
  std::string message_;
};

inline Status Ok() { return {}; }
Status Error(Code code, std::string message);
// "what: strerror(err)"; the code follows from err (ENOENT is kNotFound, EPERM/EACCES are
// kPermissionDenied, ENOSYS/EOPNOTSUPP/EINVAL-from-the-kernel are kUnsupported, ...).
Status Errno(const std::string& what, int err = errno);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace hive

#define HIVE_CONCAT_INNER_(a, b) a##b
#define HIVE_CONCAT_(a, b) HIVE_CONCAT_INNER_(a, b)

#define HIVE_TRY(expr)                          \
  do {                                          \
    ::hive::Status hive_status_ = (expr);       \
    if (!hive_status_.ok()) return hive_status_; \
  } while (0)

#define HIVE_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

#define HIVE_ASSIGN_OR_RETURN(lhs, expr) \
  HIVE_ASSIGN_OR_RETURN_IMPL_(HIVE_CONCAT_(hive_result_, __LINE__), lhs, expr)
