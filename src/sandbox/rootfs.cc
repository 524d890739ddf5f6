#include "sandbox/rootfs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "sandbox/fs_mount.h"
#include "sandbox/namespaces.h"
#include "sandbox/overlay.h"

namespace hive::rootfs {
namespace {

constexpr unsigned kBindAttrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

std::string Rel(const std::string& abs) {
  size_t i = 0;
  while (i < abs.size() && abs[i] == '/') ++i;
  return abs.substr(i);
}

// Opens `source` as a detached copy of its mount tree with `attrs` set on every mount in it.
Result<UniqueFd> OpenTree(const std::string& source, unsigned attrs, const std::string& what) {
  UniqueFd fd(open_tree(AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
  if (!fd.valid()) return Errno(fmt::format("{}: open `{}`", what, source));
  struct mount_attr attr = {};
  attr.attr_set = attrs;
  if (mount_setattr(fd.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) {
    return Errno(fmt::format("{}: set attributes on `{}`", what, source));
  }
  return fd;
}

// A detached mount `fd` to attach at `target`; the plan owns it from here.
void PushTree(Plan* plan, UniqueFd fd, const std::string& target, bool is_dir) {
  Step s;
  s.kind = Step::Kind::kTree;
  s.target = Rel(target);
  s.tree_fd = fd.get();
  s.tree_is_dir = is_dir;
  plan->trees.push_back(std::move(fd));
  plan->steps.push_back(std::move(s));
}

Status AddTree(Plan* plan, const std::string& source, const std::string& target, bool read_only,
               bool idmap, const std::string& what, bool no_exec = false) {
  struct stat st;
  if (stat(source.c_str(), &st) != 0) return Errno(fmt::format("{}: `{}`", what, source));
  unsigned attrs = kBindAttrs | (read_only ? MOUNT_ATTR_RDONLY : 0) |
                   (no_exec ? MOUNT_ATTR_NOEXEC : 0);
  HIVE_ASSIGN_OR_RETURN(UniqueFd fd, OpenTree(source, attrs, what));
  if (idmap && !read_only) plan->idmap_trees.push_back(fd.get());
  PushTree(plan, std::move(fd), target, S_ISDIR(st.st_mode));
  return Ok();
}

Step FsStep(const std::string& type, const std::string& target,
            std::vector<std::pair<std::string, std::string>> options, unsigned attr) {
  Step s;
  s.kind = Step::Kind::kFs;
  s.fs_type = type;
  s.target = Rel(target);
  s.fs_options = std::move(options);
  s.fs_attr = attr;
  return s;
}

Step LinkStep(const std::string& link, const std::string& target) {
  Step s;
  s.kind = Step::Kind::kSymlink;
  s.target = Rel(link);
  s.text = target;
  return s;
}

// A file the run supplies (the resolver's resolv.conf) over a bundle's own: written into a
// private tmpfs and bound read-only on top, because writing it in place would change the
// bundle on disk. The bundle must have the file, so that nothing is created in it either.
Status AddBundleFile(const RunSpec& spec, const std::string& path, const std::string& contents,
                     Plan* plan) {
  const std::string what = fmt::format("supply `{}` in the bundle's rootfs", path);
  const std::string host = spec.root.path + path;
  struct stat st;
  if (lstat(host.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Error(Code::kInvalidArgument,
                 fmt::format("{}: `{}` must be a regular file (an empty one will do); the run "
                             "binds its own over it",
                             what, host));
  }
  UniqueFd fs(fsopen("tmpfs", FSOPEN_CLOEXEC));
  if (!fs.valid()) return Errno(what + ": tmpfs");
  if (fsconfig(fs.get(), FSCONFIG_SET_STRING, "size", "65536", 0) != 0 ||
      fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return Errno(what + ": tmpfs");
  }
  UniqueFd mnt(fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
  if (!mnt.valid()) return Errno(what + ": tmpfs");
  {
    UniqueFd f(openat(mnt.get(), "file", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644));
    if (!f.valid() ||
        write(f.get(), contents.data(), contents.size()) != static_cast<ssize_t>(contents.size())) {
      return Errno(what + ": write");
    }
  }
  UniqueFd tree(open_tree(mnt.get(), "file", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  if (!tree.valid()) return Errno(what + ": open_tree");
  struct mount_attr attr = {};
  attr.attr_set = kBindAttrs | MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC;
  if (mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
    return Errno(what + ": set attributes");
  }
  PushTree(plan, std::move(tree), path, false);
  return Ok();
}

// Names the sandbox always provides itself; a bundle's own copies are not bound over them.
bool Provided(const std::string& name) {
  return name == "proc" || name == "dev" || name == "tmp" || name == "sys";
}

Status AddBundleRoot(const RunSpec& spec, Plan* plan) {
  DIR* dir = opendir(spec.root.path.c_str());
  if (!dir) return Errno(fmt::format("open rootfs `{}`", spec.root.path));
  std::vector<std::string> names;
  while (struct dirent* e = readdir(dir)) {
    std::string n = e->d_name;
    if (n != "." && n != ".." && !Provided(n)) names.push_back(n);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) {
    std::string src = spec.root.path + "/" + n;
    struct stat st;
    if (lstat(src.c_str(), &st) != 0) return Errno(fmt::format("rootfs entry `{}`", src));
    if (S_ISLNK(st.st_mode)) {
      char buf[4096];
      ssize_t len = readlink(src.c_str(), buf, sizeof buf - 1);
      if (len < 0) return Errno(fmt::format("read symlink `{}`", src));
      plan->steps.push_back(LinkStep("/" + n, std::string(buf, static_cast<size_t>(len))));
    } else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
      HIVE_TRY(AddTree(plan, src, "/" + n, spec.root.readonly, true, "rootfs"));
    }
    // Device nodes, sockets and fifos at the top of a rootfs are not carried over.
  }
  return Ok();
}

// root.readonly false: the rootfs itself becomes the root, writable, its ids the sandbox's.
Status AddWritableRoot(const RunSpec& spec, Plan* plan) {
  const std::string& path = spec.root.path;
  const std::string why =
      fmt::format("root.readonly false: the rootfs `{}` must be idmapped for the container's "
                  "root to own the image's files",
                  path);
  if (spec.linux.uid_mappings.empty() || spec.linux.gid_mappings.empty()) {
    return Error(Code::kInvalidArgument, why + ": no id mappings");
  }
  HIVE_ASSIGN_OR_RETURN(UniqueFd userns,
                        ns::MappingUserns(spec.linux.uid_mappings, spec.linux.gid_mappings));
  auto layers = overlay::Find(path);
  if (layers.ok()) {
    auto mnt = overlay::MountIdmapped(*layers, userns.get(), spec.linux.uid_mappings,
                                      spec.linux.gid_mappings);
    if (!mnt.ok()) return mnt.status().Wrap(why);
    plan->root_tree = std::move(mnt).value();
    return Ok();
  }
  if (layers.status().code() != Code::kNotFound) return layers.status().Wrap(why);
  UniqueFd tree(open_tree(AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
                                                      AT_RECURSIVE));
  if (!tree.valid()) return Errno(fmt::format("open rootfs `{}`", path));
  struct mount_attr attr = {};
  attr.attr_set = kBindAttrs | MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns.get());
  if (mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) {
    const int err = errno;
    // Overlay directories that are not an overlay's root (a rootfs inside a container's own
    // overlay) and filesystems without idmap support land here.
    return Status(Code::kUnsupported,
                  fmt::format("{}: {}: its filesystem cannot be idmapped here (an overlay can "
                              "only be remounted from its root; ext4, xfs, btrfs and tmpfs "
                              "can); set \"readonly\": true",
                              why, std::strerror(err)),
                  err);
  }
  plan->root_tree = std::move(tree);
  return Ok();
}

Status AddDev(Plan* plan) {
  plan->steps.push_back(FsStep("tmpfs", "/dev", {{"mode", "0755"}, {"size", "65536"}},
                               MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC));
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    std::string src = std::string("/dev/") + node;
    UniqueFd fd(open_tree(AT_FDCWD, src.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (!fd.valid()) return Errno(fmt::format("/dev: open `{}`", src));
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
    if (mount_setattr(fd.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
      return Errno(fmt::format("/dev: set attributes on `{}`", src));
    }
    PushTree(plan, std::move(fd), src, false);
  }
  plan->steps.push_back(FsStep("devpts", "/dev/pts",
                               {{"newinstance", ""}, {"ptmxmode", "0666"}, {"mode", "0620"}},
                               MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC));
  plan->steps.push_back(FsStep("tmpfs", "/dev/shm", {{"mode", "1777"}, {"size", "67108864"}},
                               MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));
  plan->steps.push_back(LinkStep("/dev/ptmx", "pts/ptmx"));
  plan->steps.push_back(LinkStep("/dev/fd", "/proc/self/fd"));
  plan->steps.push_back(LinkStep("/dev/stdin", "/proc/self/fd/0"));
  plan->steps.push_back(LinkStep("/dev/stdout", "/proc/self/fd/1"));
  plan->steps.push_back(LinkStep("/dev/stderr", "/proc/self/fd/2"));
  return Ok();
}

// --- child side: no allocation, errors as (step, detail, -errno) ---

int OpenInRoot(int root, const char* rel, int flags) noexcept {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  if (rel[0] == '\0') rel = ".";
  return static_cast<int>(syscall(SYS_openat2, root, rel, &how, sizeof how));
}

// mkdir -p inside the root; the last component is a directory or an empty file. The common
// case (it exists) costs one lookup; otherwise the parent is made first, recursively.
int MakePathIn(int root, char* buf, size_t len, bool last_is_dir, unsigned mode) noexcept {
  int fd = OpenInRoot(root, buf, O_PATH);
  if (fd >= 0) {
    close(fd);
    return 0;
  }
  if (errno != ENOENT) return -errno;
  size_t cut = len;
  while (cut > 0 && buf[cut - 1] != '/') --cut;
  const char* name = buf + cut;
  int parent;
  if (cut == 0) {
    parent = OpenInRoot(root, "", O_PATH | O_DIRECTORY);
  } else {
    buf[cut - 1] = '\0';
    int r = MakePathIn(root, buf, cut - 1, true, 0755);
    if (r < 0) {
      buf[cut - 1] = '/';
      return r;
    }
    parent = OpenInRoot(root, buf, O_PATH | O_DIRECTORY);
    buf[cut - 1] = '/';
  }
  if (parent < 0) return -errno;
  int r;
  if (last_is_dir) {
    r = mkdirat(parent, name, mode);
  } else {
    r = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0644);
    if (r >= 0) close(r);
  }
  int err = errno;
  close(parent);
  return r < 0 && err != EEXIST ? -err : 0;
}

int MakePath(int root, const char* rel, bool last_is_dir, unsigned mode) noexcept {
  char buf[4096];
  size_t len = strlen(rel);
  if (len >= sizeof buf) return -ENAMETOOLONG;
  if (len == 0) return 0;
  memcpy(buf, rel, len + 1);
  return MakePathIn(root, buf, len, last_is_dir, mode);
}

int SplitParent(int root, const char* rel, char* buf, size_t cap, const char** name) noexcept {
  size_t len = strlen(rel);
  if (len >= cap) return -ENAMETOOLONG;
  memcpy(buf, rel, len + 1);
  char* slash = strrchr(buf, '/');
  int parent;
  if (slash) {
    *slash = '\0';
    int r = MakePath(root, buf, true, 0755);
    if (r < 0) return r;
    parent = OpenInRoot(root, buf, O_PATH | O_DIRECTORY);
    *name = slash + 1;
  } else {
    parent = OpenInRoot(root, "", O_PATH | O_DIRECTORY);
    *name = buf;
  }
  return parent < 0 ? -errno : parent;
}

int AttachAt(int root, int mount_fd, const char* rel) noexcept {
  int target = OpenInRoot(root, rel, O_PATH | O_NOFOLLOW);
  if (target < 0) return -errno;
  int r = move_mount(mount_fd, "", target, "",
                     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  int err = errno;
  close(target);
  return r < 0 ? -err : 0;
}

int MountFs(const Step& s, int root) noexcept {
  const int mnt = fs_mount::New(s.fs_type.c_str(), s.fs_options, s.fs_attr);
  if (mnt < 0) return mnt;
  int r = AttachAt(root, mnt, s.target.c_str());
  close(mnt);
  return r;
}

int RunStep(const Step& s, int root) noexcept {
  switch (s.kind) {
    case Step::Kind::kDir:
      return MakePath(root, s.target.c_str(), true, s.mode);
    case Step::Kind::kTree: {
      int r = MakePath(root, s.target.c_str(), s.tree_is_dir, 0755);
      if (r < 0) return r;
      return AttachAt(root, s.tree_fd, s.target.c_str());
    }
    case Step::Kind::kFs: {
      int r = MakePath(root, s.target.c_str(), true, 0755);
      if (r < 0) return r;
      return MountFs(s, root);
    }
    case Step::Kind::kSymlink: {
      char buf[4096];
      const char* name = nullptr;
      int parent = SplitParent(root, s.target.c_str(), buf, sizeof buf, &name);
      if (parent < 0) return parent;
      int r = symlinkat(s.text.c_str(), parent, name);
      int err = errno;
      close(parent);
      return r < 0 && err != EEXIST ? -err : 0;
    }
    case Step::Kind::kFile: {
      char buf[4096];
      const char* name = nullptr;
      int parent = SplitParent(root, s.target.c_str(), buf, sizeof buf, &name);
      if (parent < 0) return parent;
      int fd = openat(parent, name, O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                      s.mode);
      int err = errno;
      close(parent);
      if (fd < 0) return -err;
      ssize_t n = write(fd, s.text.data(), s.text.size());
      err = errno;
      close(fd);
      return n == static_cast<ssize_t>(s.text.size()) ? 0 : -(n < 0 ? err : EIO);
    }
    case Step::Kind::kCgroupView:
      return -EINVAL;  // the parent did not make it concrete (AddCgroupView)
  }
  return -EINVAL;
}

// After pivot_root: a masked file gets /dev/null over it, a masked directory an empty
// read-only tmpfs; a read-only path gets a read-only copy of itself on top.
int MaskPath(const char* path) noexcept {
  struct stat st;
  if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -errno;
  if (S_ISDIR(st.st_mode)) {
    int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
    if (fs < 0) return -errno;
    if (fsconfig(fs, FSCONFIG_SET_STRING, "size", "0", 0) < 0 ||
        fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) {
      int err = errno;
      close(fs);
      return -err;
    }
    int mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                               MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    close(fs);
    if (mnt < 0) return -errno;
    int r = move_mount(mnt, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH);
    int err = errno;
    close(mnt);
    return r < 0 ? -err : 0;
  }
  int null_tree = open_tree(AT_FDCWD, "/dev/null", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (null_tree < 0) return -errno;
  int r = move_mount(null_tree, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH);
  int err = errno;
  close(null_tree);
  return r < 0 ? -err : 0;
}

int ReadonlyPath(const char* path) noexcept {
  int tree = open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
  if (tree < 0) return errno == ENOENT ? 0 : -errno;
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  int r = mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr);
  if (r == 0) r = move_mount(tree, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH);
  int err = errno;
  close(tree);
  return r < 0 ? -err : 0;
}

}  // namespace

Result<Plan> Prepare(const RunSpec& spec) {
  Plan plan;
  plan.root_readonly = spec.root.readonly;
  if (!spec.root.path.empty() && !spec.root.readonly) {
    HIVE_TRY(AddWritableRoot(spec, &plan));
  } else if (!spec.root.path.empty()) {
    HIVE_TRY(AddBundleRoot(spec, &plan));
  }
  for (const std::string& host : spec.hive.root.host_binds) {
    struct stat st;
    if (stat(host.c_str(), &st) != 0) continue;  // /lib64 and friends differ between hosts
    HIVE_TRY(AddTree(&plan, host, host, true, false, "built-in rootfs"));
  }
  for (const auto& [link, target] : spec.hive.root.symlinks) {
    plan.steps.push_back(LinkStep(link, target));
  }
  for (const auto& [path, contents] : spec.hive.root.files) {
    if (!spec.root.path.empty()) {
      HIVE_TRY(AddBundleFile(spec, path, contents, &plan));
      continue;
    }
    Step s;
    s.kind = Step::Kind::kFile;
    s.target = Rel(path);
    s.text = contents;
    s.mode = 0644;
    plan.steps.push_back(std::move(s));
  }
  plan.steps.push_back(FsStep("proc", "/proc", {}, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                                       MOUNT_ATTR_NOEXEC));
  HIVE_TRY(AddDev(&plan));
  plan.steps.push_back(
      FsStep("tmpfs", "/tmp",
             {{"mode", "1777"}, {"size", std::to_string(spec.hive.tmp_size_mb << 20)}},
             MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV));

  // Deeper destinations after their parents, so a bind into a bound directory lands on top.
  std::vector<const MountSpec*> mounts;
  for (const MountSpec& m : spec.mounts) mounts.push_back(&m);
  std::stable_sort(mounts.begin(), mounts.end(), [](const MountSpec* a, const MountSpec* b) {
    return std::count(a->destination.begin(), a->destination.end(), '/') <
           std::count(b->destination.begin(), b->destination.end(), '/');
  });
  for (const MountSpec* m : mounts) {
    if (m->type == "bind") {
      HIVE_TRY(AddTree(&plan, m->source, m->destination, m->read_only, m->writable_by_owner,
                       fmt::format("mount `{}` on `{}`", m->source, m->destination), m->no_exec));
    } else if (m->type == "tmpfs" || m->type == "mqueue" || m->type == "sysfs") {
      std::vector<std::pair<std::string, std::string>> opts;
      size_t i = 0;
      while (i < m->data.size()) {
        size_t j = m->data.find(',', i);
        if (j == std::string::npos) j = m->data.size();
        std::string kv = m->data.substr(i, j - i);
        size_t eq = kv.find('=');
        if (!kv.empty()) {
          opts.emplace_back(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
        }
        i = j + 1;
      }
      unsigned attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                      (m->read_only || m->type == "sysfs" ? MOUNT_ATTR_RDONLY : 0) |
                      (m->no_exec ? MOUNT_ATTR_NOEXEC : 0);
      plan.steps.push_back(FsStep(m->type, m->destination, std::move(opts), attr));
    } else if (m->type == "cgroup" || m->type == "cgroup2") {
      // Which hierarchies to show is known once the run's cgroups exist (AddCgroupView).
      // Read-only unless config.json says rw: then the container writes what its own cgroup
      // namespace and user namespace let it, which is nothing above its own cgroup.
      Step s;
      s.kind = Step::Kind::kCgroupView;
      s.target = Rel(m->destination);
      s.fs_attr = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC |
                  (m->read_only ? MOUNT_ATTR_RDONLY : 0);
      s.label = m->field.empty() ? fmt::format("mount `{}`", m->destination) : m->field;
      plan.steps.push_back(std::move(s));
    } else {
      // The front ends refuse the rest (proc and devpts anywhere but where the sandbox makes
      // its own); a mount that is asked for is made or refused, never dropped.
      return Error(Code::kUnsupported,
                   fmt::format("{}mount of type `{}` on `{}` is not supported",
                               m->field.empty() ? "" : m->field + ": ", m->type, m->destination));
    }
  }
  plan.masked_paths = spec.linux.masked_paths;
  plan.readonly_paths = spec.linux.readonly_paths;
  return plan;
}

void SysfsUnavailable(Plan* plan, const std::string& why) {
  for (Step& s : plan->steps) {
    if (s.kind != Step::Kind::kFs || s.fs_type != "sysfs") continue;
    s.fs_type = "tmpfs";
    s.fs_options = {{"size", "0"}, {"mode", "0555"}};
    // Writable until every step ran: mounts below it (the cgroup view at /sys/fs/cgroup)
    // need their mount points made in it.
    s.fs_attr = (s.fs_attr & ~MOUNT_ATTR_RDONLY) | MOUNT_ATTR_NOEXEC;
    plan->sealed.push_back(s.target);
    plan->warnings.push_back(fmt::format("sysfs on `/{}` is an empty read-only tmpfs: {}",
                                         s.target, why));
  }
}

bool WantsCgroupView(const Plan& plan) {
  return std::any_of(plan.steps.begin(), plan.steps.end(),
                     [](const Step& s) { return s.kind == Step::Kind::kCgroupView; });
}

Status AddCgroupView(Plan* plan, const cgroups::Layout& layout,
                     const std::vector<std::string>& run_dirs) {
  std::vector<Step> steps;
  for (Step& s : plan->steps) {
    if (s.kind != Step::Kind::kCgroupView) {
      steps.push_back(std::move(s));
      continue;
    }
    const std::string dest = "/" + s.target;
    auto planned = cgroups::PlanView(layout, run_dirs);
    if (!planned.ok()) {
      return planned.status().Wrap(fmt::format("{}: cgroup mount on `{}`", s.label, dest));
    }
    const cgroups::View& view = *planned;
    if (view.tmpfs) {
      Step t = FsStep("tmpfs", dest, {{"mode", "0755"}, {"size", "65536"}},
                      (s.fs_attr & ~MOUNT_ATTR_RDONLY));
      t.label = s.label + ": mount tmpfs";
      steps.push_back(std::move(t));
      if (s.fs_attr & MOUNT_ATTR_RDONLY) plan->sealed.push_back(s.target);
    }
    for (const cgroups::ViewMount& m : view.mounts) {
      std::vector<std::pair<std::string, std::string>> opts;
      for (const std::string& o : m.options) {
        const size_t eq = o.find('=');  // "name=systemd" is the key `name`
        opts.emplace_back(o.substr(0, eq), eq == std::string::npos ? "" : o.substr(eq + 1));
      }
      Step c = FsStep(m.fs_type, m.dir.empty() ? dest : dest + "/" + m.dir, std::move(opts),
                      s.fs_attr);
      c.label = s.label + ": mount " + m.fs_type;
      steps.push_back(std::move(c));
    }
    for (const auto& [link, target] : view.links) {
      Step l = LinkStep(dest + "/" + link, target);
      l.label = s.label + ": symlink";
      steps.push_back(std::move(l));
    }
  }
  plan->steps = std::move(steps);
  return Ok();
}

Status MountFromHost(Plan* plan, const std::string& fs_type) {
  for (Step& s : plan->steps) {
    if (s.kind != Step::Kind::kFs || s.fs_type != fs_type) continue;
    const std::string what = fmt::format("{} on `/{}` for the host's namespace", fs_type,
                                         s.target);
    const char* option = nullptr;
    const int fd = fs_mount::New(fs_type.c_str(), s.fs_options, s.fs_attr, &option);
    if (fd < 0) {
      return Errno(option ? fmt::format("{}: option `{}`", what, option) : what, -fd);
    }
    UniqueFd mnt(fd);
    s.kind = Step::Kind::kTree;
    s.tree_fd = mnt.get();
    s.tree_is_dir = true;
    s.fs_type.clear();
    s.fs_options.clear();
    plan->trees.push_back(std::move(mnt));
  }
  return Ok();
}

Status IdmapWritableTrees(const Plan& plan, int userns_fd) {
  for (int fd : plan.idmap_trees) {
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<uint64_t>(userns_fd);
    if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) {
      return Errno("idmap a writable bind");
    }
  }
  return Ok();
}

// The read-only root: a fresh tmpfs at `base`, the bundle's entries bound into it.
static int MountRootTmpfs(const char* base) noexcept {
  int fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
  if (fs < 0) return -errno;
  if (fsconfig(fs, FSCONFIG_SET_STRING, "mode", "0755", 0) < 0 ||
      fsconfig(fs, FSCONFIG_SET_STRING, "size", "4194304", 0) < 0 ||
      fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) < 0) {
    int err = errno;
    close(fs);
    return -err;
  }
  int root_mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  close(fs);
  if (root_mnt < 0) return -errno;
  int r = move_mount(root_mnt, "", AT_FDCWD, base, MOVE_MOUNT_F_EMPTY_PATH);
  int err = errno;
  close(root_mnt);
  return r < 0 ? -err : 0;
}

// The writable root: the tree Prepare made, attached at `base`.
static int AttachRootTree(const Plan& plan, const char* base) noexcept {
  if (move_mount(plan.root_tree.get(), "", AT_FDCWD, base, MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    return -errno;
  }
  return 0;
}

int Build(const Plan& plan, const char* base, const char** step, const char** detail) noexcept {
  if (plan.root_tree.valid()) {
    *step = "attach the writable rootfs";
    *detail = base;
    if (int r = AttachRootTree(plan, base); r < 0) return r;
  } else if (int r = MountRootTmpfs(base); r < 0) {
    *step = "mount the root tmpfs";
    *detail = base;
    return r;
  }
  int root = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) return -errno;
  int r, err;

  for (const Step& s : plan.steps) {
    *detail = s.target.c_str();
    switch (s.kind) {
      case Step::Kind::kTree: *step = "bind mount"; break;
      case Step::Kind::kFs: *step = s.fs_type.c_str(); break;
      case Step::Kind::kSymlink: *step = "symlink"; break;
      case Step::Kind::kFile: *step = "write file"; break;
      case Step::Kind::kDir: *step = "mkdir"; break;
      case Step::Kind::kCgroupView: *step = "cgroup view (not planned)"; break;
    }
    if (!s.label.empty()) *step = s.label.c_str();
    r = RunStep(s, root);
    if (r < 0) {
      close(root);
      return r;
    }
  }

  for (const std::string& target : plan.sealed) {
    *step = "make read-only";
    *detail = target.c_str();
    int fd = OpenInRoot(root, target.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW);
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (fd < 0 || mount_setattr(fd, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
      err = errno;
      if (fd >= 0) close(fd);
      close(root);
      return -err;
    }
    close(fd);
  }

  if (plan.root_readonly) {
    *step = "make the root read-only";
    *detail = "/";
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_RDONLY;
    if (mount_setattr(root, "", AT_EMPTY_PATH, &attr, sizeof attr) != 0) {
      err = errno;
      close(root);
      return -err;
    }
  }

  *step = "pivot_root";
  *detail = base;
  if (fchdir(root) != 0 || syscall(SYS_pivot_root, ".", ".") != 0) {
    err = errno;
    close(root);
    return -err;
  }
  close(root);
  // The old root is stacked under the new one at "."; detaching it leaves no path to the host.
  if (umount2(".", MNT_DETACH) != 0) return -errno;
  if (chdir("/") != 0) return -errno;
  return 0;
}

int RestrictPaths(const Plan& plan, const char** step, const char** detail) noexcept {
  int r;
  for (const std::string& p : plan.masked_paths) {
    *step = "mask path";
    *detail = p.c_str();
    if ((r = MaskPath(p.c_str())) < 0) return r;
  }
  for (const std::string& p : plan.readonly_paths) {
    *step = "make path read-only";
    *detail = p.c_str();
    if ((r = ReadonlyPath(p.c_str())) < 0) return r;
  }
  return 0;
}

}  // namespace hive::rootfs
