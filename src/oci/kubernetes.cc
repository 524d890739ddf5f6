#include "oci/kubernetes.h"

namespace hive::oci {

RunReport::KubernetesRef KubernetesOf(const std::map<std::string, std::string>& annotations) {
  auto get = [&](const char* key) {
    auto it = annotations.find(key);
    return it == annotations.end() ? std::string() : it->second;
  };
  RunReport::KubernetesRef k;
  k.kind = get("io.kubernetes.cri.container-type");
  if (k.kind.empty()) return k;  // not made by the CRI plugin
  k.pod = get("io.kubernetes.cri.sandbox-name");
  k.pod_namespace = get("io.kubernetes.cri.sandbox-namespace");
  // A pod's sandbox (pause) container has no name of its own.
  k.container = k.kind == "sandbox" ? std::string() : get("io.kubernetes.cri.container-name");
  return k;
}

}  // namespace hive::oci
