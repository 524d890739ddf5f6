// hive::net::first_flight: the name a client's first bytes on a connection ask for — the
// server_name of a TLS ClientHello (reassembled across records) or the Host of an HTTP
// request — so that a connection to an allowed name's address can be checked against the
// name it really talks to. Pure parsing, bounded, for untrusted input.
//
//   FirstFlight f = ParseFirstFlight(buf, n);
//   if (f.kind == FirstFlight::kIncomplete) read more (up to kMaxFirstFlight);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace hive::net {

// What a first flight may take before it is refused as unparseable (post-quantum key shares
// make ClientHellos of several KiB).
inline constexpr size_t kMaxFirstFlight = 64 * 1024;

struct FirstFlight {
  enum Kind { kIncomplete, kTls, kHttp, kUnparseable };
  Kind kind = kIncomplete;
  std::string name;   // SNI host_name or Host (port stripped, lowercase); "" when none
  std::string error;  // kUnparseable: why; kTls/kHttp with an empty name: why not
  bool ech = false;   // the ClientHello carries encrypted_client_hello
};

FirstFlight ParseFirstFlight(const uint8_t* buf, size_t len);

}  // namespace hive::net
