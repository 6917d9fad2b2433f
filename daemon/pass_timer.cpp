#include "daemon/pass_timer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace peoplesync::runtime {

boost::asio::awaitable<void> AsioPassTimer::wait(Millis d) {
  timer_.expires_after(d);
  // A cancel is an expected end of the wait, not an error.
  co_await timer_.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
}

}  // namespace peoplesync::runtime
