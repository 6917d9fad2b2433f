// The accounts server's reply to the refresh-token grant
// (connectors::parse_token_reply, BEHAVIOUR.md "OAuth"): both expires_in
// forms, invalid_code, the throttle reply. A token reply always carries a
// token and a positive lifetime.
#include "connectors/oauth.hpp"
#include "support.hpp"

using namespace peoplesync;
using namespace peoplesync::connectors;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::quiet_logs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const TokenReply r = parse_token_reply(fuzz::as_text(data, size));
  if (r.kind == TokenReply::Kind::token) {
    fuzz::check(!r.access_token.empty(), "a token reply without a token");
    fuzz::check(r.expires_in.count() > 0, "a token that has already expired");
    fuzz::check(r.expires_in <= std::chrono::hours(24), "a token lifetime over a day");
  } else {
    fuzz::check(r.access_token.empty(), "a token taken from an error reply");
  }
  if (r.kind == TokenReply::Kind::invalid_grant)
    fuzz::check(!r.error.empty(), "invalid_grant without its error");
  return 0;
}
