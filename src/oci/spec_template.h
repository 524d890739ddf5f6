// What `hive-run spec` writes and `hive-run features` prints (runtime-spec features.md).
//
//   nlohmann::json config = hive::oci::SpecTemplate(/*rootless=*/false);  // a config.json
//   nlohmann::json f = hive::oci::Features();
#pragma once

#include <nlohmann/json.hpp>

namespace hive::oci {

// A config.json hive-run runs as it is under the built-in policy: `sh` in ./rootfs, read-only,
// every namespace new, no capabilities, no_new_privs.
nlohmann::json SpecTemplate(bool rootless);
// What this build honours; a config.json asking for anything else is refused at create.
nlohmann::json Features();

}  // namespace hive::oci
