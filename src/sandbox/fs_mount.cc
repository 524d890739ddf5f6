#include "sandbox/fs_mount.h"

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>

namespace hive::fs_mount {

int New(const char* fs_type, const Options& options, unsigned attr,
        const char** failed_option) noexcept {
  const int fs = fsopen(fs_type, FSOPEN_CLOEXEC);
  if (fs < 0) return -errno;
  auto fail = [fs](const char* key, const char** where) {
    const int err = errno;
    if (where != nullptr) *where = key;
    close(fs);
    return -err;
  };
  for (const auto& [key, value] : options) {
    const int r = value.empty()
                      ? fsconfig(fs, FSCONFIG_SET_FLAG, key.c_str(), nullptr, 0)
                      : fsconfig(fs, FSCONFIG_SET_STRING, key.c_str(), value.c_str(), 0);
    if (r < 0) return fail(key.c_str(), failed_option);
  }
  if (fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) return fail(nullptr, nullptr);
  const int mnt = fsmount(fs, FSMOUNT_CLOEXEC, attr);
  if (mnt < 0) return fail(nullptr, nullptr);
  close(fs);
  return mnt;
}

}  // namespace hive::fs_mount
