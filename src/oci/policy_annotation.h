// hive::oci::SelectPolicy: the policy a container runs under. The node's (--policy,
// HIVE_RUN_POLICY, /etc/hive-run/policy.yml, else the built-in ceiling) unless its config.json
// names a stricter one shipped with hive-run in the annotation org.hive-run.policy (a
// Kubernetes pod: the pod annotation, passed on by containerd when the runtime handler lists
// it in pod_annotations). The chosen policy is then this container's ceiling, for create and
// for `update`.
//
//   HIVE_ASSIGN_OR_RETURN(Policy node, OciPolicy(g));
//   HIVE_ASSIGN_OR_RETURN(Policy policy, SelectPolicy(std::move(node), config.annotations));
#pragma once

#include <map>
#include <string>

#include "hive/policy.h"

namespace hive::oci {

inline constexpr char kPolicyAnnotation[] = "org.hive-run.policy";

// `node` when the annotation is absent; else the named shipped policy, which must be no weaker
// than `node` in any field (NoWeakerThan), with `node`'s audit settings: where the record goes
// is the node's, whatever a container chooses. A name hive-run does not ship, or a weaker
// policy, is refused naming the annotation and what is wrong. A Kubernetes pod's sandbox
// (pause) container, made by containerd from the node's configuration, keeps `node` once the
// annotation passed those checks; the pod's own containers get the chosen policy.
Result<Policy> SelectPolicy(Policy node, const std::map<std::string, std::string>& annotations);

// What `hive-run features` says of the annotation.
std::string PolicyAnnotationDescription();

}  // namespace hive::oci
