#include "sandbox/cgroups/layout.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "base/files.h"

namespace hive::cgroups {
namespace {

// Controller names a v1 mount can carry in its super options; anything else there
// (rw, relatime, clone_children, release_agent=...) is a mount option.
const std::set<std::string>& KnownV1Controllers() {
  static const std::set<std::string> kNames = {
      "cpu",      "cpuacct", "cpuset",     "memory",  "devices", "freezer", "net_cls",
      "net_prio", "blkio",   "perf_event", "hugetlb", "pids",    "rdma",    "misc"};
  return kNames;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      const std::string oct = s.substr(i + 1, 3);
      if (std::all_of(oct.begin(), oct.end(), [](char c) { return c >= '0' && c <= '7'; })) {
        out.push_back(static_cast<char>(std::stoi(oct, nullptr, 8)));
        i += 3;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::string JoinPath(const std::string& mount_point, const std::string& rel) {
  if (rel.empty() || rel == "/") return mount_point;
  if (mount_point == "/") return rel;
  return mount_point + (rel.front() == '/' ? "" : "/") + rel;
}

// The directory of cgroup `path` under a mount of subtree `root`; empty when outside it.
std::string DirFor(const std::string& mount_point, const std::string& root,
                   const std::string& path) {
  if (root == "/" || root.empty()) return JoinPath(mount_point, path);
  if (path == root) return mount_point;
  if (path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
      path[root.size()] == '/') {
    return JoinPath(mount_point, path.substr(root.size()));
  }
  return "";
}

struct CgroupLine {
  std::vector<std::string> controllers;  // sorted; empty for the v2 line
  std::string path;
};

Result<std::vector<CgroupLine>> ParseProcCgroup(const std::string& text) {
  std::vector<CgroupLine> out;
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    // "4:memory:/a/b"; the path itself may contain ':'.
    const size_t c1 = line.find(':');
    const size_t c2 = c1 == std::string::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string::npos) {
      return Error(Code::kInvalidArgument,
                   fmt::format("/proc/self/cgroup line {}: expected ID:CONTROLLERS:PATH, got `{}`",
                               n, line));
    }
    CgroupLine cl;
    const std::string ctrls = line.substr(c1 + 1, c2 - c1 - 1);
    if (!ctrls.empty()) cl.controllers = Split(ctrls, ',');
    std::sort(cl.controllers.begin(), cl.controllers.end());
    cl.path = line.substr(c2 + 1);
    // A cgroup removed while we are in it reads "/a/b (deleted)".
    const std::string kDeleted = " (deleted)";
    if (cl.path.size() > kDeleted.size() &&
        cl.path.compare(cl.path.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0) {
      cl.path.resize(cl.path.size() - kDeleted.size());
    }
    out.push_back(std::move(cl));
  }
  return out;
}

}  // namespace

const char* LayoutKindName(LayoutKind kind) {
  switch (kind) {
    case LayoutKind::kNone:
      return "none";
    case LayoutKind::kUnified:
      return "unified";
    case LayoutKind::kLegacy:
      return "legacy";
    case LayoutKind::kHybrid:
      return "hybrid";
  }
  return "?";
}

bool Hierarchy::Has(const std::string& controller) const {
  return std::find(controllers.begin(), controllers.end(), controller) != controllers.end();
}

const Hierarchy* Layout::Unified() const {
  for (const auto& h : hierarchies) {
    if (h.unified) return &h;
  }
  return nullptr;
}

const Hierarchy* Layout::ForController(const std::string& controller) const {
  for (const auto& h : hierarchies) {
    if (!h.unified && h.Has(controller)) return &h;
  }
  return nullptr;
}

Result<Layout> ParseLayout(const std::string& mountinfo, const std::string& proc_cgroup) {
  HIVE_ASSIGN_OR_RETURN(std::vector<CgroupLine> lines, ParseProcCgroup(proc_cgroup));

  Layout layout;
  std::set<std::vector<std::string>> seen_v1;  // a hierarchy bind-mounted twice counts once
  bool have_v1_controller = false;
  std::istringstream in(mountinfo);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::istringstream fields(line);
    for (std::string w; fields >> w;) f.push_back(w);
    const auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 6 || dash == f.end() || f.end() - dash < 3) {
      return Error(Code::kInvalidArgument,
                   fmt::format("/proc/self/mountinfo line {}: unexpected format `{}`", n, line));
    }
    const std::string& fstype = *(dash + 1);
    const std::string& super_opts = *(dash + 3);
    if (fstype != "cgroup" && fstype != "cgroup2") continue;

    Hierarchy h;
    h.unified = fstype == "cgroup2";
    h.mount_root = Unescape(f[3]);
    h.mount_point = Unescape(f[4]);
    if (!h.unified) {
      for (const auto& opt : Split(super_opts, ',')) {
        if (KnownV1Controllers().count(opt) || opt.rfind("name=", 0) == 0) {
          h.controllers.push_back(opt);
        }
      }
      std::sort(h.controllers.begin(), h.controllers.end());
      if (h.controllers.empty() || !seen_v1.insert(h.controllers).second) continue;
      for (const auto& c : h.controllers) {
        if (c.rfind("name=", 0) != 0) have_v1_controller = true;
      }
    } else if (layout.Unified() != nullptr) {
      continue;
    }

    // The v2 line is "0::/path" (no controllers); a v1 line names the same controller set
    // as its mount.
    for (const auto& cl : lines) {
      if (cl.controllers == h.controllers) {
        h.own_path = cl.path;
        h.own_dir = DirFor(h.mount_point, h.mount_root, cl.path);
        break;
      }
    }
    layout.hierarchies.push_back(std::move(h));
  }

  const bool have_unified = layout.Unified() != nullptr;
  if (have_v1_controller) {
    layout.kind = have_unified ? LayoutKind::kHybrid : LayoutKind::kLegacy;
  } else if (have_unified) {
    layout.kind = LayoutKind::kUnified;
  }
  return layout;
}

Result<Layout> DetectLayout() {
  HIVE_ASSIGN_OR_RETURN(std::string mountinfo, ReadFile("/proc/self/mountinfo"));
  HIVE_ASSIGN_OR_RETURN(std::string cgroup, ReadFile("/proc/self/cgroup"));
  return ParseLayout(mountinfo, cgroup);
}

}  // namespace hive::cgroups
