#include "sandbox/overlay.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstring>
#include <filesystem>

#include "base/files.h"
#include "sandbox/fs_mount.h"
#include "hive/state_dir.h"

namespace hive::overlay {
namespace {

// mountinfo escapes space, tab, newline and backslash (and overlay's options also `,` and
// `=`) as \ooo.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' &&
        s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t a = 0;
  for (;;) {
    const size_t b = s.find(sep, a);
    out.push_back(s.substr(a, b == std::string::npos ? std::string::npos : b - a));
    if (b == std::string::npos) return out;
    a = b + 1;
  }
}

// The host id of container id `id`; -1 when it is not mapped.
int64_t MapId(const std::vector<IdMapping>& maps, uint32_t id) {
  for (const IdMapping& m : maps) {
    if (id >= m.container_id && id - m.container_id < m.size) {
      return static_cast<int64_t>(m.host_id) + (id - m.container_id);
    }
  }
  return -1;
}

bool IsHostId(const std::vector<IdMapping>& maps, uint32_t id) {
  for (const IdMapping& m : maps) {
    if (id >= m.host_id && id - m.host_id < m.size) return true;
  }
  return false;
}

// What the engine made in the upper layer (its root, mount points such as /etc) belongs on
// disk to host ids the container does not map, and would be nobody's inside: each entry that
// is not yet the container's is shifted as the image's layers are (id N -> the container's
// id N). What the container wrote is already its own and stays.
Status GiveUpperToContainer(const std::string& upper, const std::vector<IdMapping>& uid_maps,
                            const std::vector<IdMapping>& gid_maps) {
  std::error_code ec;
  auto shift = [&](const std::string& p) -> Status {
    struct stat st;
    if (lstat(p.c_str(), &st) != 0) return Errno(fmt::format("`{}`", p));
    if (IsHostId(uid_maps, st.st_uid) && IsHostId(gid_maps, st.st_gid)) return Ok();
    const int64_t uid = IsHostId(uid_maps, st.st_uid) ? st.st_uid : MapId(uid_maps, st.st_uid);
    const int64_t gid = IsHostId(gid_maps, st.st_gid) ? st.st_gid : MapId(gid_maps, st.st_gid);
    if (uid < 0 || gid < 0) return Ok();  // an id the container cannot have: left alone
    // lchown clears set-id bits; they are put back, as the owner changed only its numbering.
    if (lchown(p.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0) {
      return Errno(fmt::format("give `{}` to the container", p));
    }
    if (!S_ISLNK(st.st_mode) && (st.st_mode & (S_ISUID | S_ISGID)) &&
        chmod(p.c_str(), st.st_mode & 07777) != 0) {
      return Errno(fmt::format("give `{}` to the container", p));
    }
    return Ok();
  };
  HIVE_TRY(shift(upper));
  for (auto it = std::filesystem::recursive_directory_iterator(upper, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    HIVE_TRY(shift(it->path().string()));
  }
  if (ec) return Error(Code::kInternal, fmt::format("walk `{}`: {}", upper, ec.message()));
  return Ok();
}

}  // namespace

Result<Layers> Find(const std::string& dir) {
  const std::string where = AbsolutePath(dir, "");
  HIVE_ASSIGN_OR_RETURN(std::string text, ReadFile("/proc/self/mountinfo"));
  std::string found;  // the last line for `where`: the topmost mount there
  for (const std::string& line : Split(text, '\n')) {
    const std::vector<std::string> f = Split(line, ' ');
    if (f.size() < 5 || Unescape(f[4]) != where) continue;
    found = line;
  }
  if (found.empty()) {
    return Error(Code::kNotFound, fmt::format("`{}` is not a mount point", where));
  }
  const std::vector<std::string> f = Split(found, ' ');
  size_t dash = 6;
  while (dash < f.size() && f[dash] != "-") ++dash;
  if (dash + 3 >= f.size() || f[dash + 1] != "overlay") {
    return Error(Code::kNotFound, fmt::format("`{}` is not an overlay mount", where));
  }
  if (f[3] != "/") {
    return Error(Code::kNotFound,
                 fmt::format("`{}` is a bind of `{}` inside an overlay, not its root", where,
                             Unescape(f[3])));
  }
  // Paths c/storage gave relative (when the options would be too long) are relative to its
  // layer store: the merged directory is <store>/<id>/merged.
  const std::string parent = where.substr(0, where.rfind('/'));
  const std::string store = parent.substr(0, parent.rfind('/'));
  auto resolve = [&](const std::string& p) -> Result<std::string> {
    const std::string abs = p.empty() || p[0] == '/' ? p : store + "/" + p;
    struct stat st;
    if (abs.empty() || stat(abs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return Error(Code::kNotFound,
                   fmt::format("overlay at `{}`: layer `{}` is not a directory here", where, p));
    }
    return abs;
  };
  Layers layers;
  for (const std::string& opt : Split(f[dash + 3], ',')) {
    const size_t eq = opt.find('=');
    const std::string key = opt.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : Unescape(opt.substr(eq + 1));
    if (key == "lowerdir") {
      if (value.find("::") != std::string::npos) {
        return Error(Code::kUnsupported,
                     fmt::format("overlay at `{}`: data-only lower layers are not supported",
                                 where));
      }
      for (const std::string& l : Split(value, ':')) {
        HIVE_ASSIGN_OR_RETURN(std::string abs, resolve(l));
        layers.lower.push_back(abs);
      }
    } else if (key == "upperdir") {
      HIVE_ASSIGN_OR_RETURN(layers.upper, resolve(value));
    } else if (key == "workdir") {
      HIVE_ASSIGN_OR_RETURN(layers.work, resolve(value));
    } else if (key == "rw" || key == "ro" || key == "index" || key == "lowerdir+" ||
               key == "datadir+") {
      // rw/ro are the superblock's; index is set off below (the upper is shared with the
      // engine's own mount, which index=on refuses).
      if (key == "lowerdir+" || key == "datadir+") {
        return Error(Code::kUnsupported,
                     fmt::format("overlay at `{}`: option `{}` is not supported", where, key));
      }
    } else if (key == "fsync" || key == "volatile") {
      // The engine's transient containers (podman --rm) are volatile: the kernel marks the
      // work directory and refuses a second mount over it. Ours has its own work directory
      // and syncs as usual.
    } else {
      layers.options.emplace_back(key, eq == std::string::npos ? "" : value);
    }
  }
  if (layers.lower.empty() || layers.upper.empty() || layers.work.empty()) {
    return Error(Code::kUnsupported,
                 fmt::format("overlay at `{}` has no upper layer: it is read-only", where));
  }
  return layers;
}

Result<UniqueFd> MountIdmapped(const Layers& layers, int userns_fd,
                               const std::vector<IdMapping>& uid_maps,
                               const std::vector<IdMapping>& gid_maps) {
  std::vector<UniqueFd> lowers;
  std::string lowerdir;
  for (const std::string& l : layers.lower) {
    UniqueFd t(open_tree(AT_FDCWD, l.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (!t.valid()) return Errno(fmt::format("open image layer `{}`", l));
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    attr.userns_fd = static_cast<uint64_t>(userns_fd);
    if (mount_setattr(t.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
      const int err = errno;
      return Status(Code::kUnsupported,
                    fmt::format("idmap image layer `{}`: {} (its filesystem cannot be idmapped "
                                "on this kernel)",
                                l, std::strerror(err)),
                    err);
    }
    lowerdir += fmt::format("{}/proc/self/fd/{}", lowerdir.empty() ? "" : ":", t.get());
    lowers.push_back(std::move(t));
  }
  HIVE_TRY(GiveUpperToContainer(layers.upper, uid_maps, gid_maps));
  // Beside the engine's own work directory, on the same filesystem as the upper layer: the
  // engine's is in use by its mount (and marked when that one is volatile).
  const std::string work = layers.upper.substr(0, layers.upper.rfind('/')) + "/hive-run-work";
  if (mkdir(work.c_str(), 0700) != 0 && errno != EEXIST) {
    return Errno(fmt::format("create the overlay work directory `{}`", work));
  }
  fs_mount::Options opts = {
      {"lowerdir", lowerdir}, {"upperdir", layers.upper}, {"workdir", work}, {"index", "off"}};
  opts.insert(opts.end(), layers.options.begin(), layers.options.end());
  const char* option = nullptr;
  const int fd = fs_mount::New("overlay", opts, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, &option);
  if (fd < 0) {
    return Errno(option ? fmt::format("overlay option `{}`", option)
                        : std::string("mount the idmapped overlay"),
                 -fd);
  }
  return UniqueFd(fd);
}

}  // namespace hive::overlay
