// hive::ns: the parent's half of the user namespace: id maps, and the user namespaces that
// idmapped mounts use so files written in writable binds belong to the invoking user.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "hive/run_spec.h"
#include "hive/status.h"

namespace hive::ns {

// Host ids the sandbox's ids map to: a dedicated range that is never host uid 0.
inline constexpr uint32_t kHostIdBase = 0x70000000;
inline constexpr uint32_t kHostIdCount = 65536;

std::vector<IdMapping> DefaultMappings();

// Writes /proc/PID/{uid_map,setgroups,gid_map}.
Status WriteIdMaps(pid_t pid, const std::vector<IdMapping>& uid_maps,
                   const std::vector<IdMapping>& gid_maps);

// A user namespace mapping `owner` (inside) onto the sandbox root's host ids (outside), for
// MOUNT_ATTR_IDMAP: files the sandbox root writes are stored as `owner` on disk, and files
// `owner` has on disk appear to belong to the sandbox root.
Result<UniqueFd> IdmapUserns(uid_t owner_uid, gid_t owner_gid, uint32_t sandbox_root_host_uid,
                             uint32_t sandbox_root_host_gid);

// A user namespace with the sandbox's own id maps (container id inside, host id outside), for
// MOUNT_ATTR_IDMAP on an image's rootfs: a file that belongs to id N on disk (0 = the image's
// root) belongs to the sandbox's id N, and the sandbox's id N writes as N on disk.
Result<UniqueFd> MappingUserns(const std::vector<IdMapping>& uid_maps,
                               const std::vector<IdMapping>& gid_maps);

}  // namespace hive::ns
