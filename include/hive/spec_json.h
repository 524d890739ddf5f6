// RunSpec → an OCI runtime-spec config.json plus a "hive" object with hive's extensions, so the
// same spec can be run by crun or runc for side-by-side comparison (`hive-run policy compile`).
#pragma once

#include <nlohmann/json.hpp>

#include "hive/run_spec.h"

namespace hive {

nlohmann::json RunSpecToOci(const RunSpec& spec);

}  // namespace hive
