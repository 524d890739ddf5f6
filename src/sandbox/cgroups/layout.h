// Where the host's cgroup hierarchies are mounted and where hive-run sits in each.
//
// Parsed from /proc/self/mountinfo (mount points, v1 controllers, mounted subtree) and
// /proc/self/cgroup (hive-run's own cgroup per hierarchy). The parse functions take text so
// that tests feed them fixtures; DetectLayout() reads the real files.
//
//   HIVE_ASSIGN_OR_RETURN(hive::cgroups::Layout layout, hive::cgroups::DetectLayout());
//   if (const auto* mem = layout.ForController("memory")) Use(mem->own_dir);
#pragma once

#include <string>
#include <vector>

#include "hive/status.h"

namespace hive::cgroups {

enum class LayoutKind {
  kNone,     // no cgroup filesystem mounted
  kUnified,  // cgroup v2 only
  kLegacy,   // cgroup v1 only
  kHybrid,   // v1 controllers plus a v2 mount (usually without controllers)
};
const char* LayoutKindName(LayoutKind kind);

struct Hierarchy {
  bool unified = false;                  // cgroup2
  std::string mount_point;               // /sys/fs/cgroup/memory
  std::string mount_root;                // the cgroup mounted there ("/" unless a subtree)
  std::vector<std::string> controllers;  // v1: {"cpu", "cpuacct"}, "name=systemd"; v2: empty
  std::string own_path;                  // hive-run's cgroup in this hierarchy ("/a/b")
  // mount_point + own_path below mount_root; empty when hive-run's cgroup is outside the
  // mounted subtree (it cannot be reached through this mount).
  std::string own_dir;

  bool Has(const std::string& controller) const;
};

struct Layout {
  LayoutKind kind = LayoutKind::kNone;
  std::vector<Hierarchy> hierarchies;

  // The cgroup2 hierarchy, or null.
  const Hierarchy* Unified() const;
  // The v1 hierarchy that carries `controller`, or null.
  const Hierarchy* ForController(const std::string& controller) const;
};

// Builds the layout from the text of /proc/self/mountinfo and /proc/self/cgroup.
Result<Layout> ParseLayout(const std::string& mountinfo, const std::string& proc_cgroup);
Result<Layout> DetectLayout();

}  // namespace hive::cgroups
