// RunSpec → an OCI runtime-spec config.json plus a "hive" object with hive's extensions, so the
// same spec can be run by crun or runc for side-by-side comparison (`hive-run policy compile`).
//
//   HIVE_ASSIGN_OR_RETURN(nlohmann::json config, hive::RunSpecToOci(spec));
//   HIVE_TRY(hive::WriteBundle(spec, "out"));   // out/config.json + out/rootfs
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "hive/run_spec.h"
#include "hive/status.h"

namespace hive {

// The seccomp profile is read and inlined as linux.seccomp (its rules as they apply on this
// host); an unreadable profile is an error.
Result<nlohmann::json> RunSpecToOci(const RunSpec& spec);

// `dir`/config.json and, for the built-in sandbox (no root.path), `dir`/rootfs: an empty root
// with the mount points, symlinks and small files the mounts and hive.root need.
Status WriteBundle(const RunSpec& spec, const std::string& dir);

}  // namespace hive
