// hive::Bundle: an OCI bundle directory (config.json + rootfs, optional policy.yml), read by the
// OCI front end. config.json becomes a RunSpec holding what the file says and nothing else
// (CompileRunSpec then puts it under the policy); malformed input is refused with the JSON
// path of the bad field; unknown properties are ignored, as the runtime-spec requires.
//
//   HIVE_ASSIGN_OR_RETURN(hive::Bundle b, hive::LoadBundle("bundles/python"));
//   b.config.process.args  // ["python3", ...]
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hive/policy.h"
#include "hive/run_spec.h"
#include "hive/status.h"

namespace hive {

struct Bundle {
  std::string dir;          // absolute
  RunSpec config;  // config.json as written: only the namespaces and capabilities it lists
  std::string policy_path;  // <dir>/policy.yml when present
  std::optional<std::string> policy_text;  // its bytes, read with the bundle
};

// Refuses duplicate keys; errors quote at most the offending token.
Result<RunSpec> ParseOciConfig(const std::string& json_text, const std::string& source,
                               const std::string& bundle_dir);
// The LinuxResources object of `update --resources` (config.json's linux.resources alone):
// the limits it sets, each field checked as in config.json; a field hive-run cannot apply is
// refused by name, and so are lifting a limit (-1) and cpu.quota without cpu.period.
Result<ResourcesSpec> ParseResourcesUpdate(const std::string& json_text,
                                           const std::string& source);
// Reads config.json and policy.yml (when present) with the bounded reader, neither through a
// path that leaves the bundle directory.
Result<Bundle> LoadBundle(const std::string& dir);
// The bundle's own policy.yml (PolicyOrigin::kBundle: it may not set security.audit), or the
// built-in policy when the bundle has none.
Result<Policy> LoadBundlePolicy(const Bundle& bundle);

}  // namespace hive
