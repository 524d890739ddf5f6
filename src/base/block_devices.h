// The block devices that back host paths, for io limits (cgroup blkio/io throttle devices).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace hive {

// Major and minor numbers of the whole disks backing `paths` (a partition's disk: the kernel
// throttles whole request queues), without repeats. Paths on no block device (tmpfs, overlay,
// a btrfs subvolume) or that cannot be read are described in `unresolved`.
std::vector<std::pair<int64_t, int64_t>> BlockDevicesFor(const std::vector<std::string>& paths,
                                                         std::vector<std::string>* unresolved);

}  // namespace hive
