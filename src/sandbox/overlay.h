// hive::overlay: an engine's overlayfs rootfs, mounted again with its image layers idmapped.
//
// podman and containerd hand the runtime a rootfs that is an overlay mount: the image's
// layers (files of host root) below, the container's own upper directory on top. An overlay
// mount cannot itself be idmapped (mount_setattr answers EINVAL), but its layers can: the same
// layers are mounted again as a new overlay whose lower layers are idmapped mounts, so the
// image's root files belong to the container's root, while the upper directory is not: what
// the container writes lands there as its own host ids, never as host root.
//
//   HIVE_ASSIGN_OR_RETURN(overlay::Layers layers, overlay::Find("/var/lib/.../merged"));
//   HIVE_ASSIGN_OR_RETURN(UniqueFd root, overlay::MountIdmapped(layers, userns, root_ids));
#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "base/unique_fd.h"
#include "hive/run_spec.h"
#include "hive/status.h"

namespace hive::overlay {

struct Layers {
  std::vector<std::string> lower;  // topmost first, as lowerdir lists them
  std::string upper, work;
  // The mount's other options ("uuid=on", "redirect_dir=on"), carried over; "" = a flag.
  std::vector<std::pair<std::string, std::string>> options;
};

// The overlay whose root is mounted at `dir` (the topmost mount there), from
// /proc/self/mountinfo. NotFound when no overlay's root is mounted at `dir`.
Result<Layers> Find(const std::string& dir);

// A detached overlay of `layers` whose lower layers are idmapped through `userns_fd` (read-only,
// as lower layers are); the upper layer is not idmapped: what the container writes is stored
// as its own host ids. What the engine made in the upper layer as host root (its root, mount
// points) is handed to the container first (id N -> the container's id N through `uid_maps`,
// `gid_maps`): the upper layer is the container's, and without this its `/` would be nobody's
// inside, and unwritable. The work directory is hive-run's own, beside the upper one.
Result<UniqueFd> MountIdmapped(const Layers& layers, int userns_fd,
                               const std::vector<IdMapping>& uid_maps,
                               const std::vector<IdMapping>& gid_maps);

}  // namespace hive::overlay
