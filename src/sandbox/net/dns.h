// hive::net::dns: the little of the DNS wire format (RFC 1035) the sandbox's resolver needs:
// read a client's question, write the upstream query, walk the upstream answer's CNAME chain
// to its addresses, and write the client's answer. Pure functions over bytes; every read is
// bounds-checked and every loop bounded, because both sides of the resolver are untrusted.
//
//   Question q;
//   if (!ParseQuestion(buf, n, &q)) ...               // FORMERR/drop
//   auto wire = BuildQuery(fresh_id, q.name, q.qtype);
//   UpstreamAnswer a = ParseAnswer(reply, m, fresh_id, q.name, q.qtype);
//   auto out = BuildAnswer(q, a.rcode, a.addrs, ttl);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "sandbox/net/allowlist.h"

namespace hive::net::dns {

inline constexpr uint16_t kTypeA = 1;
inline constexpr uint16_t kTypeCname = 5;
inline constexpr uint16_t kTypeAaaa = 28;
inline constexpr uint16_t kClassIn = 1;

inline constexpr int kNoError = 0;
inline constexpr int kFormErr = 1;
inline constexpr int kServFail = 2;
inline constexpr int kNxDomain = 3;
inline constexpr int kNotImp = 4;
inline constexpr int kRefused = 5;

struct Question {
  uint16_t id = 0;
  bool rd = false;
  std::string name;  // as sent (dotted, no trailing dot), not normalised
  uint16_t qtype = 0, qclass = 0;
};

// One question, opcode QUERY, not a response. False for anything else.
bool ParseQuestion(const uint8_t* buf, size_t len, Question* q);

// A recursive query for `name` (dotted) with one question; empty if the name cannot be encoded.
std::vector<uint8_t> BuildQuery(uint16_t id, const std::string& name, uint16_t qtype);

struct Address {
  IpAddress ip;
  uint32_t ttl = 0;
};

struct UpstreamAnswer {
  bool ok = false;         // a well-formed response to our question
  bool truncated = false;  // TC: ask again over TCP
  int rcode = kServFail;
  std::vector<Address> addrs;  // A/AAAA of the queried name or its CNAME chain (<= 8 hops)
};

// Checks the id and the echoed question; follows CNAMEs only from the current owner.
UpstreamAnswer ParseAnswer(const uint8_t* buf, size_t len, uint16_t id, const std::string& name,
                           uint16_t qtype);

// The client's answer: its id and question, RA set, the addresses owned by the question's
// name (the chain flattened), at most as many as fit in 512 bytes.
std::vector<uint8_t> BuildAnswer(const Question& q, int rcode, const std::vector<Address>& addrs);

}  // namespace hive::net::dns
