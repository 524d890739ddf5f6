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

// Contiguous component sequences; a public key (.pub) never matches.
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

}  // namespace

std::vector<std::string> PathComponents(std::string_view path) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : path) {
    if (c == '/' || c == '\\') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

bool ClimbsOut(std::string_view path) {
  std::vector<std::string> comps = PathComponents(path);
  int ups = 0;
  for (const std::string& c : comps) {
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
  std::vector<std::string> comps = PathComponents(path);
  for (const CredentialPattern& p : kCredentialPatterns) {
    size_t n = p.parts.size();
    for (size_t i = 0; i + n <= comps.size(); ++i) {
      bool all = true;
      size_t k = 0;
      for (std::string_view part : p.parts) {
        if (!ComponentMatches(part, comps[i + k++])) {
          all = false;
          break;
        }
      }
      if (all) return true;
    }
  }
  return false;
}

}  // namespace hive::analyze
