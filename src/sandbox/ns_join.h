// hive::ns joins: linux.namespaces[].path — a container that enters namespaces which exist
// already (a pod's: CRI app containers join the pause container's network, ipc, uts and,
// when shared, pid namespaces by /proc/<pid>/ns/*, or a CNI netns under /var/run/netns).
//
// Every namespace belongs to a user namespace, and privilege over it comes only from that
// one. So where a join happens depends on its owner:
//
//   owned by hive-run's own user namespace (the host's: `ip netns add`, CNI)
//       joined BEFORE the container's user namespace exists: setns(2) into it fails with
//       EPERM once the caller sits in a new user namespace. The container then has no
//       privilege over it (no sysfs, no lo, no net.* sysctls): it uses it as it is.
//   owned by a child user namespace U of hive-run's (a pod whose pause container hive-run
//       made lives in one)
//       the container joins U itself instead of creating a user namespace — no id maps are
//       written, U's are checked never to map host uid or gid 0 — and then the namespaces U
//       owns, over which it is privileged (/proc for a joined pid namespace needs
//       CAP_SYS_ADMIN over its owner, sysfs over the network namespace's). Every container
//       of a pod then shares the pod's user namespace.
//
// The joins happen in a short-lived intermediate process, never in the supervisor: setns
// of a user namespace is refused to a multithreaded process and would change the caller's
// credentials, and the supervisor of a non-OCI run keeps serving the network from the
// host's namespace. The intermediate (clone CLONE_VM|CLONE_VFORK, no page copied) joins,
// then clone3s the container's first process with CLONE_PARENT — the supervisor's child,
// with its parent-death signal and pidfd as without joins — and exits.
//
// A joined pid namespace is entered through pid_for_children: the container's first process
// is then not that namespace's pid 1 (the child adapts, see child.h).
//
// Refused, by field: `mount` and `cgroup` paths (a container's root and cgroup view are always
// its own), `time` namespaces, a `user` path to hive-run's own user namespace (the container's
// root is never host root), a pid namespace owned by the host's user namespace (a container
// could not mount its /proc) unless it is hive-run's own, shared by policy (the supervisor,
// in that namespace, then makes the /proc: container.cc), namespaces owned by two different
// user namespaces, or by one that is not a direct child of hive-run's.
#pragma once

#include <linux/sched.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/unique_fd.h"
#include "hive/run_spec.h"
#include "hive/status.h"

struct clone_args;

namespace hive::ns {

struct Join {
  size_t index = 0;     // linux.namespaces[index]
  std::string type;     // its config.json name
  int nstype = 0;       // CLONE_NEW*
  std::string path;
  UniqueFd fd;
  bool host_owned = false;  // owned by hive-run's user namespace: joined before the userns
  bool host = false;        // hive-run's own namespace (NamespaceSpec::host)
};

struct JoinPlan {
  std::vector<Join> joins;  // host-owned first, then the ones the joined userns owns
  UniqueFd userns;          // the user namespace to join; invalid = create one
  std::string userns_field; // the field that made it ("linux.namespaces[3].path")

  bool empty() const { return joins.empty() && !userns.valid(); }
  bool Joins(int nstype) const;
  // The namespace of this kind is the container's own: new, or joined and owned by the user
  // namespace it runs in (not the host's).
  bool Owns(int nstype) const;
  // The namespace of this kind is hive-run's own (security.process.host_namespaces).
  bool SharesHost(int nstype) const;
  // CLONE_NEWUSER/NS/PID/NET/UTS/IPC for the namespaces still to create.
  uint64_t NewFlags() const;
};

// Parent, before anything is created: opens every path, checks it is a namespace of the
// type config.json says, and sorts the joins by owner. Errors name linux.namespaces[i].
Result<JoinPlan> PlanJoins(const RunSpec& spec);

// Parent: clone3s the container's first process through an intermediate that makes the
// joins (see above). `args` is the clone3 the supervisor would have made without joins
// (CLONE_PIDFD, CLONE_INTO_CGROUP welcome); its CLONE_NEW* flags are replaced by
// plan.NewFlags(). In the new process, `child(arg)` runs and must not return. Returns its pid;
// *into_cgroup says whether CLONE_INTO_CGROUP held.
Result<pid_t> CloneJoined(const JoinPlan& plan, struct clone_args* args,
                          void (*child)(void*), void* arg, bool* into_cgroup);

// Parent, after CloneJoined into a joined user namespace: that namespace's maps, as the
// host sees them, read through the new process. Refuses one that maps host uid or gid 0.
Status ReadJoinedMaps(pid_t pid, std::vector<IdMapping>* uid_maps,
                      std::vector<IdMapping>* gid_maps);

}  // namespace hive::ns
