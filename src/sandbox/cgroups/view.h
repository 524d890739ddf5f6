// The container's own view of its cgroups: what a config.json mount of type `cgroup` or
// `cgroup2` (podman, containerd and the CRI send one at /sys/fs/cgroup) becomes.
//
// The mounts are new cgroup filesystems made by the child after it unshared its cgroup
// namespace, so each shows the run's own cgroup as its root ("/" in /proc/self/cgroup too):
// the container reads its own limits (memory.max, pids.max) and nothing of the host's tree
// above it. Only the hierarchies the run has a cgroup of its own in are shown; in the others
// the container sits in hive-run's cgroup, and a mount there would show hive-run's tree (on
// this kind of host often the whole hierarchy).
//
//   pure cgroup v2:  one cgroup2 mount at the destination.
//   v1 or hybrid:    a tmpfs at the destination, in it one cgroup v1 mount per hierarchy,
//                    named as the host names it ("memory", "cpu,cpuacct", "systemd"), with the
//                    usual links for co-mounted controllers (cpu -> cpu,cpuacct), and the
//                    v2 hierarchy as "unified". A user namespace may mount a v1 hierarchy only
//                    with exactly the controller set the host mounted it with.
//
//   HIVE_ASSIGN_OR_RETURN(hive::cgroups::View view, hive::cgroups::PlanView(layout, cg->Paths()));
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "hive/status.h"
#include "sandbox/cgroups/layout.h"

namespace hive::cgroups {

struct ViewMount {
  std::string dir;      // below the destination ("memory", "unified"); "" = the destination
  std::string fs_type;  // "cgroup" or "cgroup2"
  std::vector<std::string> options;  // v1: the hierarchy's controllers ("name=systemd" too)
};

struct View {
  bool tmpfs = false;  // the destination is a tmpfs holding one directory per mount
  std::vector<ViewMount> mounts;
  std::vector<std::pair<std::string, std::string>> links;  // {"cpu", "cpu,cpuacct"}
};

// `run_dirs`: the run's cgroup directories (CgroupManager::Paths). Fails when the run has no
// cgroup of its own to show.
Result<View> PlanView(const Layout& layout, const std::vector<std::string>& run_dirs);

}  // namespace hive::cgroups
