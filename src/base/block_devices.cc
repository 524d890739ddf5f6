#include "base/block_devices.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "base/files.h"

namespace hive {

std::vector<std::pair<int64_t, int64_t>> BlockDevicesFor(const std::vector<std::string>& paths,
                                                         std::vector<std::string>* unresolved) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& path : paths) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      unresolved->push_back(Errno(fmt::format("stat `{}`", path)).message());
      continue;
    }
    if (::major(st.st_dev) == 0) {
      unresolved->push_back(
          fmt::format("`{}` is on no block device (tmpfs, overlay or a btrfs subvolume)", path));
      continue;
    }
    std::pair<int64_t, int64_t> dev{::major(st.st_dev), ::minor(st.st_dev)};
    // The kernel refuses throttling on a partition: it throttles the disk's request queue.
    const std::string sys = fmt::format("/sys/dev/block/{}:{}", dev.first, dev.second);
    if (::access((sys + "/partition").c_str(), F_OK) == 0) {
      Result<std::string> parent = ReadFile(sys + "/../dev");
      long long maj = 0, min = 0;
      if (parent.ok() && std::sscanf(parent->c_str(), "%lld:%lld", &maj, &min) == 2) {
        dev = {maj, min};
      }
    }
    if (std::find(out.begin(), out.end(), dev) == out.end()) out.push_back(dev);
  }
  return out;
}

}  // namespace hive
