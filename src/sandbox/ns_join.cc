#include "sandbox/ns_join.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "base/files.h"

namespace hive::ns {
namespace {

constexpr uint64_t kAllNew = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET |
                             CLONE_NEWUTS | CLONE_NEWIPC;

int NsType(const std::string& type) {
  if (type == "pid") return CLONE_NEWPID;
  if (type == "network") return CLONE_NEWNET;
  if (type == "ipc") return CLONE_NEWIPC;
  if (type == "uts") return CLONE_NEWUTS;
  if (type == "user") return CLONE_NEWUSER;
  if (type == "mount") return CLONE_NEWNS;
  if (type == "cgroup") return CLONE_NEWCGROUP;
  return 0;
}

const char* NsName(int nstype) {
  switch (nstype) {
    case CLONE_NEWPID: return "pid";
    case CLONE_NEWNET: return "network";
    case CLONE_NEWIPC: return "ipc";
    case CLONE_NEWUTS: return "uts";
    case CLONE_NEWUSER: return "user";
    case CLONE_NEWNS: return "mount";
    case CLONE_NEWCGROUP: return "cgroup";
    case CLONE_NEWTIME: return "time";
  }
  return "unknown";
}

struct NsId {
  dev_t dev = 0;
  ino_t ino = 0;
  bool operator==(const NsId& o) const { return dev == o.dev && ino == o.ino; }
};

Result<NsId> IdOf(int fd, const std::string& what) {
  struct stat st;
  if (fstat(fd, &st) != 0) return Errno(fmt::format("stat {}", what));
  return NsId{st.st_dev, st.st_ino};
}

// The intermediate's state, shared with the supervisor (CLONE_VM): it writes what happened.
struct Trampoline {
  const JoinPlan* plan = nullptr;
  struct clone_args* args = nullptr;
  void (*child)(void*) = nullptr;
  void* arg = nullptr;
  long pid = -1;
  int err = 0;
  const Join* failed = nullptr;  // the join whose setns failed
  bool failed_userns = false;
  bool into_cgroup = false;
};

// The intermediate. It runs on its own stack in the supervisor's memory, single-threaded
// and with its own fs_struct (no CLONE_FS), as setns of a user namespace requires; the
// supervisor is suspended meanwhile (CLONE_VFORK). Only system calls here.
int Intermediate(void* p) noexcept {
  auto* t = static_cast<Trampoline*>(p);
  // Host-owned first: these need the host's privilege, which entering a user namespace ends.
  for (const Join& j : t->plan->joins) {
    if (j.host_owned && setns(j.fd.get(), j.nstype) != 0) {
      t->err = errno;
      t->failed = &j;
      return 1;
    }
  }
  if (t->plan->userns.valid() && setns(t->plan->userns.get(), CLONE_NEWUSER) != 0) {
    t->err = errno;
    t->failed_userns = true;
    return 1;
  }
  for (const Join& j : t->plan->joins) {
    if (!j.host_owned && setns(j.fd.get(), j.nstype) != 0) {
      t->err = errno;
      t->failed = &j;
      return 1;
    }
  }
  long c = syscall(SYS_clone3, t->args, sizeof *t->args);
  if (c < 0 && (t->args->flags & CLONE_INTO_CGROUP)) {
    // As without joins: the supervisor places the child in its cgroups before its go-ahead.
    t->args->flags &= ~static_cast<uint64_t>(CLONE_INTO_CGROUP);
    c = syscall(SYS_clone3, t->args, sizeof *t->args);
  }
  if (c == 0) {
    t->child(t->arg);
    _exit(125);
  }
  t->pid = c;
  t->err = c < 0 ? errno : 0;
  t->into_cgroup = (t->args->flags & CLONE_INTO_CGROUP) != 0;
  return 0;
}

// The intermediate's stack; in the container's first process, a copy of it is the stack its
// setup runs on until it execs, so it is as large as a thread's would be. Untouched pages
// cost nothing (MAP_NORESERVE).
constexpr size_t kIntermediateStack = 2 << 20;

Result<std::vector<IdMapping>> ParseMap(const std::string& text, const std::string& what) {
  std::vector<IdMapping> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    IdMapping m;
    if (!(l >> m.container_id >> m.host_id >> m.size)) continue;
    out.push_back(m);
  }
  if (out.empty()) {
    return Error(Code::kFailedPrecondition, fmt::format("{}: the joined user namespace has no "
                                                        "mapping",
                                                        what));
  }
  return out;
}

}  // namespace

bool JoinPlan::Joins(int nstype) const {
  if (nstype == CLONE_NEWUSER && userns.valid()) return true;
  for (const Join& j : joins) {
    if (j.nstype == nstype) return true;
  }
  return false;
}

bool JoinPlan::Owns(int nstype) const {
  for (const Join& j : joins) {
    if (j.nstype == nstype) return !j.host_owned;
  }
  return true;
}

bool JoinPlan::SharesHost(int nstype) const {
  for (const Join& j : joins) {
    if (j.nstype == nstype) return j.host;
  }
  return false;
}

uint64_t JoinPlan::NewFlags() const {
  uint64_t flags = kAllNew;
  for (const Join& j : joins) flags &= ~static_cast<uint64_t>(j.nstype);
  if (userns.valid()) flags &= ~static_cast<uint64_t>(CLONE_NEWUSER);
  return flags;
}

Result<JoinPlan> PlanJoins(const RunSpec& spec) {
  JoinPlan plan;
  bool any = false;
  for (const NamespaceSpec& n : spec.linux.namespaces) any |= !n.path.empty();
  if (!any) return plan;  // every run but a pod's: nothing to open
  UniqueFd self(open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC));
  if (!self.valid()) return Errno("open hive-run's own user namespace");
  HIVE_ASSIGN_OR_RETURN(const NsId self_id, IdOf(self.get(), "hive-run's user namespace"));
  NsId owner_id;  // of the user namespace to join, once one is named
  auto refuse = [](const std::string& field, const std::string& why) {
    return Error(Code::kUnsupported, fmt::format("{}: {}", field, why));
  };
  // A user namespace joined must be a child of ours: its maps read from here are then host
  // ids, and nothing else (an ancestor's, a sibling tree's) could be trusted or entered.
  auto direct_child = [&](int userns_fd, const std::string& field) -> Status {
    UniqueFd parent(ioctl(userns_fd, NS_GET_PARENT));
    if (!parent.valid()) {
      return refuse(field, "its user namespace is not one hive-run's own user namespace "
                           "contains (NS_GET_PARENT: " + std::string(strerror(errno)) + ")");
    }
    HIVE_ASSIGN_OR_RETURN(NsId pid, IdOf(parent.get(), field));
    if (!(pid == self_id)) {
      return refuse(field, "its user namespace is not a direct child of hive-run's own");
    }
    return Ok();
  };
  // Takes `fd` (a user namespace) as the one the container joins, or checks it is that one.
  auto take_userns = [&](UniqueFd fd, const std::string& field) -> Status {
    HIVE_ASSIGN_OR_RETURN(NsId id, IdOf(fd.get(), field));
    if (plan.userns.valid()) {
      if (!(id == owner_id)) {
        return refuse(field, fmt::format("belongs to another user namespace than the one {} "
                                         "names: a container runs in one user namespace, and "
                                         "joins only namespaces it owns or the host's",
                                         plan.userns_field));
      }
      return Ok();
    }
    HIVE_TRY(direct_child(fd.get(), field));
    owner_id = id;
    plan.userns = std::move(fd);
    plan.userns_field = field;
    return Ok();
  };

  std::vector<Join> host, owned;
  for (size_t i = 0; i < spec.linux.namespaces.size(); ++i) {
    const NamespaceSpec& n = spec.linux.namespaces[i];
    // `time`, and `mount`/`cgroup` paths, are refused by SupervisorRefusal already.
    if (n.path.empty()) continue;
    const std::string pfield = fmt::format("linux.namespaces[{}].path", i);
    const int nstype = NsType(n.type);
    if (nstype == 0 || nstype == CLONE_NEWNS || nstype == CLONE_NEWCGROUP) {
      return refuse(pfield, fmt::format("joining a {} namespace is not supported", n.type));
    }
    UniqueFd fd(open(n.path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return Errno(fmt::format("{}: open `{}`", pfield, n.path));
    const int actual = ioctl(fd.get(), NS_GET_NSTYPE);
    if (actual < 0) {
      return Error(Code::kInvalidArgument,
                   fmt::format("{}: `{}` is not a namespace file ({})", pfield, n.path,
                               strerror(errno)));
    }
    if (actual != nstype) {
      return Error(Code::kInvalidArgument,
                   fmt::format("{}: `{}` is a {} namespace, not {}", pfield, n.path,
                               NsName(actual), n.type));
    }
    if (nstype == CLONE_NEWUSER) {
      HIVE_ASSIGN_OR_RETURN(NsId id, IdOf(fd.get(), pfield));
      if (id == self_id) {
        return refuse(pfield, fmt::format("`{}` is hive-run's own (the host's) user namespace: "
                                          "the container's root is never host root",
                                          n.path));
      }
      HIVE_TRY(take_userns(std::move(fd), pfield));
      continue;
    }
    UniqueFd owner(ioctl(fd.get(), NS_GET_USERNS));
    if (!owner.valid()) return Errno(fmt::format("{}: the owner of `{}`", pfield, n.path));
    HIVE_ASSIGN_OR_RETURN(NsId oid, IdOf(owner.get(), pfield));
    Join j;
    j.index = i;
    j.type = n.type;
    j.nstype = nstype;
    j.path = n.path;
    j.fd = std::move(fd);
    j.host_owned = oid == self_id;
    j.host = n.host;
    if (n.host && !j.host_owned) {
      // /proc/self/ns/* of a supervisor that runs in a user namespace of its own: not the
      // host's, and nothing a policy line can vouch for.
      return refuse(pfield, fmt::format("`{}` (the host's {} namespace, shared by "
                                        "security.process.host_namespaces) does not belong to "
                                        "hive-run's user namespace",
                                        n.path, n.type));
    }
    if (j.host_owned && nstype == CLONE_NEWPID && !n.host) {
      return refuse(pfield, fmt::format("the pid namespace at `{}` belongs to the host's user "
                                        "namespace: a container in its own user namespace "
                                        "cannot mount a /proc for it",
                                        n.path));
    }
    if (!j.host_owned) HIVE_TRY(take_userns(std::move(owner), pfield));
    (j.host_owned ? host : owned).push_back(std::move(j));
  }
  for (Join& j : host) plan.joins.push_back(std::move(j));
  for (Join& j : owned) plan.joins.push_back(std::move(j));
  return plan;
}

Result<pid_t> CloneJoined(const JoinPlan& plan, struct clone_args* args, void (*child)(void*),
                          void* arg, bool* into_cgroup) {
  args->flags = (args->flags & ~kAllNew) | plan.NewFlags() | CLONE_PARENT;
  // With CLONE_PARENT the child's exit signal is the intermediate's (SIGCHLD); clone3 takes
  // none of its own then.
  args->exit_signal = 0;
  Trampoline t;
  t.plan = &plan;
  t.args = args;
  t.child = child;
  t.arg = arg;
  void* stack = mmap(nullptr, kIntermediateStack, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK | MAP_NORESERVE, -1, 0);
  if (stack == MAP_FAILED) return Errno("map the namespace joiner's stack");
  // CLONE_FILES: the pidfd clone3 makes lands in the supervisor's table.
  const pid_t mid = clone(Intermediate, static_cast<char*>(stack) + kIntermediateStack,
                          CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD, &t);
  const int clone_err = errno;
  if (mid > 0) {
    int status;
    while (waitpid(mid, &status, 0) < 0 && errno == EINTR) {
    }
  }
  munmap(stack, kIntermediateStack);
  if (mid < 0) return Errno("clone the namespace joiner", clone_err);
  if (t.failed != nullptr) {
    return Errno(fmt::format("linux.namespaces[{}].path: join the {} namespace at `{}`{}",
                             t.failed->index, t.failed->type, t.failed->path,
                             t.failed->host_owned ? "" : " (after joining its user namespace)"),
                 t.err);
  }
  if (t.failed_userns) {
    return Errno(fmt::format("{}: join the user namespace", plan.userns_field), t.err);
  }
  if (t.pid < 0) {
    return Errno("clone3 the container into its joined and new namespaces", t.err);
  }
  *into_cgroup = t.into_cgroup;
  return static_cast<pid_t>(t.pid);
}

Status ReadJoinedMaps(pid_t pid, std::vector<IdMapping>* uid_maps,
                      std::vector<IdMapping>* gid_maps) {
  for (auto [file, out] : {std::pair{"uid_map", uid_maps}, std::pair{"gid_map", gid_maps}}) {
    const std::string path = fmt::format("/proc/{}/{}", pid, file);
    HIVE_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
    HIVE_ASSIGN_OR_RETURN(*out, ParseMap(text, path));
    for (const IdMapping& m : *out) {
      if (m.host_id == 0) {
        return Error(Code::kPermissionDenied,
                     fmt::format("the joined user namespace maps host {} 0 (`{}`: {} 0 {}): the "
                                 "container's root is never host root",
                                 file == std::string("uid_map") ? "uid" : "gid", path,
                                 m.container_id, m.size));
      }
    }
  }
  return Ok();
}

}  // namespace hive::ns
