#include "analyze/paths.h"

#include <algorithm>
#include <array>
#include <initializer_list>

namespace hive::analyze {
namespace {

// One component pattern: exact, or "prefix*" / "*suffix".
bool ComponentMatches(std::string_view pattern, std::string_view comp) {
  if (!pattern.empty() && pattern.back() == '*') {
    std::string_view prefix = pattern.substr(0, pattern.size() - 1);
    return comp.starts_with(prefix) && !comp.ends_with(".pub");
  }
  if (!pattern.empty() && pattern.front() == '*') return comp.ends_with(pattern.substr(1));
  return pattern == comp;
}

struct CredentialPattern {
  std::initializer_list<std::string_view> parts;
};

// Contiguous component sequences; a public key (.pub) never matches. Each first component
// begins with '.', 'i', 'e' or 'g' (NamesCredentials skips any other at once).
const CredentialPattern kCredentialPatterns[] = {
    {{".ssh", "id_*"}},
    {{"id_rsa"}},
    {{"id_dsa"}},
    {{"id_ecdsa"}},
    {{"id_ed25519"}},
    {{".ssh", "identity"}},
    {{"etc", "shadow"}},
    {{"etc", "gshadow"}},
    {{"etc", "master.passwd"}},
    {{"etc", "ssh", "ssh_host_*"}},
    {{".aws", "credentials"}},
    {{".netrc"}},
    {{".pgpass"}},
    {{".git-credentials"}},
    {{".docker", "config.json"}},
    {{".kube", "config"}},
    {{".gnupg"}},
    {{".pypirc"}},
    {{".npmrc"}},
    {{".vault-token"}},
    {{"gcloud", "credentials.db"}},
    {{"gcloud", "application_default_credentials.json"}},
    {{".azure", "accessTokens.json"}},
};

constexpr std::array<std::string_view, 13> kSystemPlaces = {
    "etc", "root", "proc", "sys",    "dev",    "boot", "var",
    "usr", "home", "bin",  "passwd", "shadow", ".ssh"};

// Components as views into `path`: these checks run on every string value the analyzer
// computes, so they allocate once, not once per component.
std::vector<std::string_view> ComponentViews(std::string_view path) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (i == path.size() || path[i] == '/' || path[i] == '\\') {
      if (i > start) out.push_back(path.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> PathComponents(std::string_view path) {
  std::vector<std::string> out;
  for (std::string_view c : ComponentViews(path)) out.emplace_back(c);
  return out;
}

bool ClimbsOut(std::string_view path) {
  if (path.find("..") == std::string_view::npos) return false;
  int ups = 0;
  for (std::string_view c : ComponentViews(path)) {
    if (c == "..") {
      ++ups;
    } else if (ups > 0 &&
               std::find(kSystemPlaces.begin(), kSystemPlaces.end(), c) != kSystemPlaces.end()) {
      return true;
    }
  }
  return ups >= 2;
}

bool NamesCredentials(std::string_view path) {
  std::vector<std::string_view> comps = ComponentViews(path);
  for (size_t i = 0; i < comps.size(); ++i) {
    // Every pattern starts with a component beginning with one of these.
    if (std::string_view(".ieg").find(comps[i][0]) == std::string_view::npos) continue;
    for (const CredentialPattern& p : kCredentialPatterns) {
      if (i + p.parts.size() > comps.size()) continue;
      size_t k = i;
      bool all = std::all_of(p.parts.begin(), p.parts.end(), [&](std::string_view part) {
        return ComponentMatches(part, comps[k++]);
      });
      if (all) return true;
    }
  }
  return false;
}

}  // namespace hive::analyze
