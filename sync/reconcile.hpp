#pragma once
// Intents left "sent" by a crash or an in-doubt reply: a write the target
// holds gets its id-map row (with the hash it was sent with); every other
// intent is dropped, because the checkpoint never passed its record and the
// next read does it again.
#include <boost/asio/awaitable.hpp>

#include "sync/pass.hpp"
#include "sync/target.hpp"

namespace peoplesync::sync {

// false: a read-back failed (noted on rep); the intents stay for next time.
boost::asio::awaitable<bool> reconcile(Pass& pass, const config::Stream& s, Target& target, StreamReport& rep);

}  // namespace peoplesync::sync
