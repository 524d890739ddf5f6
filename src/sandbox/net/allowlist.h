// hive::net allowlist: what `security.network.allowed_domains` means, as pure data and
// matching (no system calls), shared by the policy front end (validation) and the supervisor
// (the DNS stub and the connect decision).
//
// Entries are exact names (`api.example.com`), wildcards (`*.example.com`: any name with at
// least one more label, never the apex itself), IP addresses (`203.0.113.7`, `2001:db8::1`)
// and CIDRs (`203.0.113.0/24`). Names are compared lowercase, without a trailing dot, in
// their ASCII form: a non-ASCII name is refused with the advice to write its `xn--` form.
//
//   HIVE_ASSIGN_OR_RETURN(hive::net::Allowlist a, hive::net::Allowlist::Parse(domains));
//   a.NameRule("API.example.com.")   // "*.example.com" or "" when not allowed
//   a.AddressRule(ip)                // the IP/CIDR entry that lists it, or ""
//   hive::net::PrivateRange(ip)      // "loopback", "private (RFC 1918)", ... or ""
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hive/status.h"

namespace hive::net {

// An IPv4 or IPv6 address; IPv4 is kept as 4 bytes, and an IPv4-mapped IPv6 address
// (::ffff:a.b.c.d) is turned into its IPv4 form by Canonical().
struct IpAddress {
  int family = 0;  // AF_INET or AF_INET6
  uint8_t bytes[16] = {};
  bool operator==(const IpAddress& o) const;
  IpAddress Canonical() const;
  std::string ToString() const;
};

bool ParseIp(const std::string& text, IpAddress* out);

struct Cidr {
  IpAddress base;
  int prefix = 0;
  bool Contains(const IpAddress& ip) const;  // canonical forms compared
};
// "a.b.c.d/n", "x::/n", or a bare address (/32, /128).
bool ParseCidr(const std::string& text, Cidr* out);

// Lowercase, trailing dot dropped, each label 1..63 letters, digits, '-' or '_' (not at a
// label's ends for '-'), at most 253 characters. Returns "" and sets *why for anything else.
std::string NormalizeName(const std::string& name, std::string* why);

// Why `ip` must never be dialled on a sandbox's behalf unless an IP/CIDR entry lists it:
// "loopback", "private (RFC 1918)", "link-local", "cloud metadata", "unique local (fc00::/7)",
// "unspecified", "multicast", "shared address space (RFC 6598)", "reserved"; "" when public.
std::string PrivateRange(const IpAddress& ip);

class Allowlist {
 public:
  // Each entry checked and normalised; an error names the entry's index and what is wrong.
  static Result<Allowlist> Parse(const std::vector<std::string>& entries);

  // The entry (as written) that allows `name`, or "" when none does. `name` is normalised
  // here; a name that is not a valid host name is never allowed.
  std::string NameRule(const std::string& name) const;
  // The IP/CIDR entry (as written) that lists `ip`, or "".
  std::string AddressRule(const IpAddress& ip) const;

  bool empty() const { return exact_.empty() && wildcard_.empty() && cidrs_.empty(); }

 private:
  struct Named {
    std::string name;  // normalised; for a wildcard the suffix without "*."
    std::string entry;
  };
  struct Listed {
    Cidr cidr;
    std::string entry;
  };
  std::vector<Named> exact_, wildcard_;
  std::vector<Listed> cidrs_;
};

// Whether TCP port `port` may be reached: not in `blocked`, and in `allowed` when that is
// not empty. *why gets "blocked port" / "port not in allowed_ports".
bool PortAllowed(uint16_t port, const std::vector<uint16_t>& blocked,
                 const std::vector<uint16_t>& allowed, std::string* why);

}  // namespace hive::net
