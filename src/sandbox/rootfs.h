// hive::rootfs: how the sandbox's root filesystem is assembled.
//
// A read-only root is a fresh tmpfs. Everything that comes from the host (a bundle's rootfs
// entries, /usr for the built-in sandbox, binds, device nodes) is opened by the parent as a
// detached mount tree (open_tree OPEN_TREE_CLONE) with its attributes already set (read-only,
// nosuid, nodev, idmapped), so the child — whose uid on the host is unprivileged — never
// needs host permissions to reach a source. The child attaches each tree at a path resolved
// inside the new root (openat2 RESOLVE_IN_ROOT), so a symlink in a bundle cannot point a mount
// outside it, then pivots.
//
// A writable root (root.readonly false) is the bundle's rootfs itself, idmapped with the
// sandbox's own id maps so that the image's files (host root's on disk) are the sandbox
// root's; an engine's overlay rootfs is mounted again with its image layers idmapped and its
// upper layer as it is (sandbox/overlay.h). A filesystem that cannot idmap is refused.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/unique_fd.h"
#include "hive/run_spec.h"
#include "hive/status.h"
#include "sandbox/cgroups/view.h"

namespace hive::rootfs {

struct Step {
  // kCgroupView: a config.json cgroup mount, until AddCgroupView makes it concrete steps.
  enum class Kind { kTree, kFs, kSymlink, kFile, kDir, kCgroupView };
  Kind kind = Kind::kDir;
  std::string target;  // relative to the new root, no leading slash ("usr/lib")
  int tree_fd = -1;    // kTree: detached mount (owned by Plan::trees)
  bool tree_is_dir = true;
  std::string fs_type;  // kFs: "proc", "tmpfs", "devpts", "mqueue", "sysfs"
  std::vector<std::pair<std::string, std::string>> fs_options;  // fsconfig key/value ("" = flag)
  unsigned fs_attr = 0;  // MOUNT_ATTR_* for fsmount
  std::string text;      // kSymlink: link target; kFile: contents
  unsigned mode = 0755;
  std::string label;  // names the step in errors ("mounts[3]: mount cgroup"); "" = its kind
};

struct Plan {
  std::vector<Step> steps;       // before pivot_root, in order
  std::vector<UniqueFd> trees;   // owns every kTree fd
  UniqueFd root_tree;            // a writable root: attached as the root instead of a tmpfs
  std::vector<int> idmap_trees;  // writable trees to idmap once the user namespace exists
  // Made read-only once every step ran: tmpfs mounts that must hold the mount points of
  // later steps first (the cgroup view's, sysfs's stand-in).
  std::vector<std::string> sealed;
  std::vector<std::string> masked_paths;    // after pivot_root
  std::vector<std::string> readonly_paths;  // after pivot_root
  bool root_readonly = true;
  std::vector<std::string> warnings;
};

// Parent, before clone: opens every host source. Errors name the mount and the path.
Result<Plan> Prepare(const RunSpec& spec);

// Parent, after the child's user namespace is mapped: idmaps writable trees through `userns`.
// Returns an Unsupported status when the filesystem cannot idmap.
Status IdmapWritableTrees(const Plan& plan, int userns_fd);

// Parent: sysfs cannot be mounted (the network namespace is the host's, and sysfs needs
// privilege over the network namespace's owner): each sysfs mount of the plan becomes an
// empty read-only tmpfs, with a warning saying `why`. Not the host's /sys bound instead: that
// would show the host's devices.
void SysfsUnavailable(Plan* plan, const std::string& why);

// Whether the plan has a cgroup mount waiting for the run's cgroups (AddCgroupView).
bool WantsCgroupView(const Plan& plan);

// Parent, once the run's cgroups exist (`run_dirs`, in the host's `layout`): turns every
// cgroup mount of the plan into the mounts of the run's cgroup view (sandbox/cgroups/view.h),
// which the child makes inside its cgroup namespace. A view that cannot be made is an error
// naming the mount.
Status AddCgroupView(Plan* plan, const cgroups::Layout& layout,
                     const std::vector<std::string>& run_dirs);

// Parent: the namespace a `fs_type` filesystem shows (proc: pid, mqueue: ipc) is the host's,
// shared by policy, and a container in its own user namespace may not mount one for it. The
// parent, which runs in that namespace with the host's privilege, makes each such mount of the
// plan itself — a new instance, as the child would have, not the host's /proc with what is
// mounted over it — and the child attaches it. The container's root still holds no
// privilege over what it shows (other processes' /proc entries, the queues).
Status MountFromHost(Plan* plan, const std::string& fs_type);

// Child: builds the root under `base` (a directory that exists in the child's mount
// namespace) and pivots into it. noexcept, no allocation. Returns 0 or -errno with *step and
// *detail naming what failed.
int Build(const Plan& plan, const char* base, const char** step, const char** detail) noexcept;

// Child, after Build and whatever must still write through /proc (sysctls): applies the
// masked and read-only paths (linux.maskedPaths, linux.readonlyPaths: /proc/sys...).
int RestrictPaths(const Plan& plan, const char** step, const char** detail) noexcept;

}  // namespace hive::rootfs
