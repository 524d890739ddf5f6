// hive::sysctl: config.json's linux.sysctl, honoured for the keys a namespace of the
// container's own scopes — what the container writes there changes nothing outside it.
//
//   net.*                                    its network namespace
//   kernel.shm{max,all,mni}, kernel.shm_rmid_forced, kernel.msg{max,mnb,mni}, kernel.sem,
//   fs.mqueue.*                              its ipc namespace
//   kernel.hostname, kernel.domainname       its uts namespace
//
// "Its own" is a namespace created for the container, or one it joined that belongs to the
// user namespace it runs in (a pod's): a namespace shared with the host is the host's, and
// any other key is the whole machine's. Both are refused at create, naming the key; nothing
// is dropped.
//
// The parent validates and resolves each key to a /proc/sys path (Prepare); the child writes
// them once its own /proc is mounted and before linux.readonlyPaths (/proc/sys) are made
// read-only and before the user program runs (Apply).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hive/status.h"

namespace hive::sysctl {

// Which namespaces are the container's own (see above).
struct Owned {
  bool net = false;
  bool ipc = false;
  bool uts = false;
};

struct Entry {
  std::string key;    // as config.json names it ("net.ipv4.ip_forward")
  std::string path;   // "/proc/sys/net/ipv4/ip_forward"
  std::string value;
  int uts_call = 0;   // 1 sethostname, 2 setdomainname: /proc/sys/kernel/{host,domain}name
                      // is writable by the host's root only, the system calls by the uts
                      // namespace's owner
};

using Plan = std::vector<Entry>;

// Parent: refuses (kUnsupported / kInvalidArgument, naming `linux.sysctl.<key>`) a key that is
// malformed, unknown to this kernel, not namespaced, or whose namespace is not the container's.
Result<Plan> Prepare(const std::map<std::string, std::string>& sysctls, const Owned& owned);

// Child, after its /proc is mounted: 0, or -errno with *failed the key that could not be set.
int Apply(const Plan& plan, const char** failed) noexcept;

}  // namespace hive::sysctl
