#include "sandbox/cgroups/view.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

namespace hive::cgroups {
namespace {

// Whether one of the run's directories lies in the hierarchy mounted at `mount_point`.
bool RunHasCgroupIn(const Hierarchy& h, const std::vector<std::string>& run_dirs) {
  const std::string prefix = h.mount_point == "/" ? "/" : h.mount_point + "/";
  return std::any_of(run_dirs.begin(), run_dirs.end(), [&](const std::string& d) {
    return d.size() > prefix.size() && d.compare(0, prefix.size(), prefix) == 0;
  });
}

std::string Basename(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Result<View> PlanView(const Layout& layout, const std::vector<std::string>& run_dirs) {
  View view;
  if (layout.kind == LayoutKind::kUnified) {
    const Hierarchy* uni = layout.Unified();
    if (uni != nullptr && RunHasCgroupIn(*uni, run_dirs)) {
      view.mounts.push_back({"", "cgroup2", {}});
    }
  } else {
    view.tmpfs = true;
    std::set<std::string> names;
    for (const Hierarchy& h : layout.hierarchies) {
      if (!RunHasCgroupIn(h, run_dirs)) continue;
      // The v2 hierarchy of a hybrid host is "unified" wherever the host mounts it.
      std::string dir = h.unified ? "unified" : Basename(h.mount_point);
      if (dir.empty() || dir == "." || dir == ".." || !names.insert(dir).second) {
        return Error(Code::kUnsupported,
                     fmt::format("the host's cgroup hierarchy at `{}` has no name of its own "
                                 "to show it under",
                                 h.mount_point));
      }
      view.mounts.push_back({dir, h.unified ? "cgroup2" : "cgroup", h.controllers});
    }
    // Co-mounted controllers are reached by each name too, as systemd links them.
    for (const ViewMount& m : view.mounts) {
      if (m.options.size() < 2) continue;
      for (const std::string& c : m.options) {
        if (c.rfind("name=", 0) == 0 || names.count(c)) continue;
        names.insert(c);
        view.links.emplace_back(c, m.dir);
      }
    }
  }
  if (view.mounts.empty()) {
    const std::string dirs =
        run_dirs.empty() ? "none" : fmt::format("{}", fmt::join(run_dirs, ", "));
    return Error(Code::kUnsupported,
                 fmt::format("the run has no cgroup of its own to show (its cgroups: {})", dirs));
  }
  return view;
}

}  // namespace hive::cgroups
