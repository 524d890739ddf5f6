#include "oci/spec_template.h"

#include <linux/capability.h>

#include "oci/policy_annotation.h"
#include "sandbox/capabilities.h"

namespace hive::oci {

nlohmann::json SpecTemplate(bool rootless) {
  nlohmann::json ns = nlohmann::json::array();
  for (const char* t : {"pid", "network", "ipc", "uts", "mount", "cgroup", "user"}) {
    ns.push_back({{"type", t}});
  }
  nlohmann::json config = {
      {"ociVersion", "1.0.2"},
      {"process",
       {{"terminal", false},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", {"sh"}},
        {"env", {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                 "TERM=xterm"}},
        {"cwd", "/"},
        {"noNewPrivileges", true},
        {"rlimits", {{{"type", "RLIMIT_NOFILE"}, {"hard", 256}, {"soft", 256}}}}}},
      {"root", {{"path", "rootfs"}, {"readonly", true}}},
      {"hostname", "hive"},
      {"mounts",
       {{{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}},
        {{"destination", "/dev"},
         {"type", "tmpfs"},
         {"source", "tmpfs"},
         {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}}}},
      {"linux", {{"namespaces", ns}}}};
  if (rootless) {
    // Rootless: the invoking user is the container's root (hive-run maps the rest itself).
    config["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
    config["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
  }
  return config;
}

nlohmann::json Features() {
  nlohmann::json cap_names = nlohmann::json::array();
  for (int c = 0; c <= CAP_LAST_CAP; ++c) cap_names.push_back(caps::Name(c));
  return {
      {"ociVersionMin", "1.0.0"},
      {"ociVersionMax", "1.0.2"},
      // Honoured when the policy allows hooks (security.process.allow_oci_hooks).
      {"hooks",
       {"prestart", "createRuntime", "createContainer", "startContainer", "poststart",
        "poststop"}},
      // Exactly those applied (tests/oci/test_lifecycle.py tries each). containerd 2.x reads
      // this list: without "rro" it tells kubelet that recursive read-only mounts are not
      // supported, and pods asking for them are refused before reaching hive-run.
      {"mountOptions",
       {"bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "exec", "private",
        "rprivate"}},
      {"linux",
       {{"namespaces", {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"}},
        {"capabilities", cap_names},
        {"cgroup", {{"v1", true}, {"v2", true}, {"systemd", false}, {"systemdUser", false},
                    {"rdma", false}}},
        {"seccomp",
         {{"enabled", true},
          {"actions", {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                       "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_LOG",
                       "SCMP_ACT_TRAP", "SCMP_ACT_TRACE", "SCMP_ACT_NOTIFY"}},
          {"operators", {"SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
                         "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"}},
          {"archs", {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                     "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}},
          {"knownFlags", nlohmann::json::array()},
          {"supportedFlags", nlohmann::json::array()}}},
        {"apparmor", {{"enabled", false}}},
        {"selinux", {{"enabled", false}}},
        {"mountExtensions", {{"idmap", {{"enabled", false}}}}}}},
      {"annotations", {{kPolicyAnnotation, PolicyAnnotationDescription()}}},
  };
}

}  // namespace hive::oci
