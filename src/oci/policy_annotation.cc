// The annotation org.hive-run.policy: a container selects a stricter policy by name. Names only:
// a path would let whoever writes config.json (a pod's author) make hive-run, as root, read a
// file of their choosing on the node.
#include "oci/policy_annotation.h"

#include <fmt/format.h>

#include "base/user_text.h"
#include "oci/kubernetes.h"

namespace hive::oci {

Result<Policy> SelectPolicy(Policy node, const std::map<std::string, std::string>& annotations) {
  auto it = annotations.find(kPolicyAnnotation);
  if (it == annotations.end()) return node;
  const std::string field = fmt::format("annotations[{}]", kPolicyAnnotation);
  Result<Policy> chosen = ShippedContainerPolicy(it->second);
  if (!chosen.ok()) {
    return Error(Code::kInvalidArgument, fmt::format("{}: {}", field, chosen.status().message()));
  }
  if (Status s = NoWeakerThan(*chosen, node); !s.ok()) {
    return Error(Code::kPermissionDenied,
                 fmt::format("{}: `{}` is weaker than the node's policy {}: {}", field, it->second,
                             node.source, s.message()));
  }
  // A pod's sandbox (pause) container is containerd's own: the node's sandbox_image, its
  // program, and the runtime's default capability set, none of which the pod can change. It
  // holds the pod's namespaces and runs nothing of the pod's; it stays under the node's policy.
  // The annotation was still checked above: a pod naming an unknown or weaker policy fails at
  // RunPodSandbox, before any of its containers is made.
  if (KubernetesOf(annotations).kind == "sandbox") return node;
  chosen->audit = node.audit;
  return chosen;
}

std::string PolicyAnnotationDescription() {
  return fmt::format("name of a stricter policy shipped with hive-run: {}",
                     fmt::join(ShippedContainerPolicyNames(), ", "));
}

}  // namespace hive::oci
