#pragma once
// The real connectors stack (TokenProvider, ZohoApi, the People or CRM
// client) over a scripted transport that answers the token request itself
// and every API call with the next reply of the fuzz input (fuzz/support.hpp).
// Waits are virtual, so retries and backoffs cost nothing.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <array>
#include <deque>
#include <exception>
#include <string>
#include <string_view>

#include "connectors/api.hpp"
#include "connectors/sleeper.hpp"
#include "support.hpp"
#include "support/fake_transport.hpp"

namespace peoplesync::fuzz {

class HalfRandom final : public connectors::Random {
 public:
  double uniform() override { return 0.5; }
};

// The first line of the input names the operation (one of `names`); any other
// first line picks one by its first byte, so mutated names still reach every
// operation. Returns the operation's index and leaves the rest in `in`.
template <std::size_t N>
std::size_t pick_op(std::string_view& in, const std::array<std::string_view, N>& names) {
  const std::size_t eol = in.find('\n');
  const std::string_view first = in.substr(0, eol);
  std::size_t op = first.empty() ? 0 : static_cast<unsigned char>(first[0]) % N;
  for (std::size_t i = 0; i < N; ++i)
    if (first == names[i]) op = i;
  in = eol == std::string_view::npos ? std::string_view{} : in.substr(eol + 1);
  return op;
}

struct Rig {
  explicit Rig(std::string_view script, connectors::Response when_done) : replies(parse_script(script)) {
    zoho.accounts_url = "https://accounts.zoho.com";
    transport.on([this, when_done](const connectors::Request& r) -> connectors::Result {
      if (r.target == "/oauth/v2/token") {
        connectors::Response t;
        t.status = 200;
        t.body = R"({"access_token":"1000.fuzz","expires_in":3600})";
        return t;
      }
      if (replies.empty()) return when_done;
      connectors::Response next = std::move(replies.front());
      replies.pop_front();
      return next;
    });
  }

  // Runs one coroutine (a lambda returning awaitable<void>) to completion.
  // An exception escaping the client is rethrown here: a crash for libFuzzer.
  template <class F>
  void run(F f) {
    bool done = false;
    boost::asio::co_spawn(
        io,
        [&done, f = std::move(f)]() mutable -> boost::asio::awaitable<void> {
          co_await f();
          done = true;
        },
        [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
    io.run();
    check(done, "the client call did not complete");
  }

  std::deque<connectors::Response> replies;
  boost::asio::io_context io;
  config::Zoho zoho;
  ManualClock clock;
  connectors::VirtualSleeper sleeper{clock};
  HalfRandom random;
  peoplesync::testing::FakeTransport transport;
  connectors::TokenProvider tokens{transport, zoho, clock, sleeper, random};
  connectors::ZohoApi api{transport, tokens, clock, sleeper, random,
                          connectors::BackoffPolicy{Millis{10}, Millis{100}, 3}};
};

}  // namespace peoplesync::fuzz
