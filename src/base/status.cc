#include "hive/status.h"

#include <cstring>

namespace hive {

Status Error(Code code, std::string message) { return Status(code, std::move(message)); }

Status Errno(const std::string& what, int err) {
  Code code = Code::kInternal;
  switch (err) {
    case ENOENT: case ENOTDIR: code = Code::kNotFound; break;
    case EPERM: case EACCES: case EROFS: code = Code::kPermissionDenied; break;
    case ENOSYS: case EOPNOTSUPP: code = Code::kUnsupported; break;
    case EINVAL: case EEXIST: case EBADF: code = Code::kInvalidArgument; break;
    default: break;
  }
  return Status(code, what + ": " + std::strerror(err), err);
}

}  // namespace hive
